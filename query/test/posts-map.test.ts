import { fakeExchange } from '@mini-blog/common/testing';
import { MAP_CHUNK_POSTS, writePostsMap } from '../src/posts-map';
import { openProjection, type QueryEvent } from './open-projection';

const POSTS = 3 * MAP_CHUNK_POSTS + 7;

function blog() {
  const projection = openProjection();
  const events = Array.from({ length: POSTS }, (_, i): QueryEvent => ({
    id: `e${i + 1}`,
    seq: i + 1,
    time: '',
    type: 'PostCreated',
    data: { id: `p${i}`, title: `Post ${i}` },
  }));
  projection.apply(...events);
  const mapPage = jest.spyOn(projection.model, 'mapPage');
  return { projection, mapPage };
}

/** A response the test drives: every write fills the socket until the test emits `drain`. */
function slowClient() {
  const exchange = fakeExchange();
  let ended: string | undefined;
  Object.assign(exchange.res, {
    type: () => exchange.res,
    end: (text: string) => {
      ended = text;
    },
  });
  exchange.res.full = true;
  return { ...exchange, ended: () => ended };
}

describe('GET /posts, the course map', () => {
  it('reads the next chunk of posts only once the client has taken the last one', async () => {
    const { projection, mapPage } = blog();
    const client = slowClient();

    const writing = writePostsMap(client.response, projection);
    await Promise.resolve();
    expect(client.written).toEqual(['{']);
    expect(mapPage).not.toHaveBeenCalled();
    for (let chunk = 1; chunk <= 4; chunk += 1) {
      client.res.emit('drain');
      await new Promise(setImmediate);
      expect(mapPage).toHaveBeenCalledTimes(chunk);
    }
    client.res.emit('drain');
    await writing;

    const map = JSON.parse(`${client.written.join('')}${client.ended()}`);
    expect(Object.keys(map)).toHaveLength(POSTS);
    expect(map.p0).toEqual({ id: 'p0', title: 'Post 0', comments: [] });
  });

  it('stops reading when the client leaves halfway', async () => {
    const { projection, mapPage } = blog();
    const client = slowClient();

    const writing = writePostsMap(client.response, projection);
    client.res.emit('drain');
    await new Promise(setImmediate);
    client.res.destroy();
    await writing;

    expect(mapPage).toHaveBeenCalledTimes(1);
    expect(client.written).toHaveLength(2);
    expect(client.ended()).toBeUndefined();
  });
});
