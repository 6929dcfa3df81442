import { HANDLED_TYPES as COMMENTS_TYPES } from '../../comments/src/domain';
import { parseSubscribers } from '../../event-bus/src/config';
import { HANDLED_TYPES as MODERATION_TYPES } from '../../moderation/src/domain';
import { HANDLED_TYPES as POSTS_TYPES } from '../../posts/src/domain';
import { HANDLED_TYPES as QUERY_TYPES } from '../../query/src/domain';
import { DELIVERY_OPTIONS, SUBSCRIBERS } from '../src/system';

describe('DELIVERY_OPTIONS', () => {
  const handled = { posts: POSTS_TYPES, comments: COMMENTS_TYPES, moderation: MODERATION_TYPES, query: QUERY_TYPES };

  it.each(SUBSCRIBERS)('sends %s, in batches, exactly the types its consumer handles', (name) => {
    const [subscriber] = parseSubscribers(`${name}=http://127.0.0.1:1/events|${DELIVERY_OPTIONS[name]}`);

    expect(subscriber!.batch).toBe(true);
    expect([...subscriber!.types!].sort()).toEqual([...handled[name]].sort());
  });
});
