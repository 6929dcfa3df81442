import { EVENT_TYPES } from '../src/events/catalog';
import { natsPermissions, parseSubject, streamSubjects, subjectOf } from '../src/transport/jetstream/subjects';

describe('JetStream subjects', () => {
  it('gives every event type its own subjects in the stream', () => {
    expect(streamSubjects()).toEqual(EVENT_TYPES.map((type) => `blog.${type}.*`));
  });

  it.each(['post-1', 'a.b*c>d e', 'ünïcødé/✓', '_'])('carries the key %j in one subject token and back', (key) => {
    const subject = subjectOf('CommentCreated', key);

    expect(subject.split('.')).toHaveLength(3);
    expect(parseSubject(subject)).toEqual({ type: 'CommentCreated', key });
  });

  it('gives an event without a key a token no key can have', () => {
    expect(subjectOf('PostCreated')).toBe('blog.PostCreated._');
    expect(parseSubject('blog.PostCreated._')).toEqual({ type: 'PostCreated', key: undefined });
  });

  it.each(['blog.Unknown._', 'other.PostCreated._', 'blog.PostCreated', 'blog.PostCreated._.extra'])('does not read %s as an event', (subject) => {
    expect(parseSubject(subject)).toBeUndefined();
  });

  it('lets a service that publishes nothing publish no event subject', () => {
    expect(natsPermissions('query').publish.allow.filter((subject) => subject.startsWith('blog.'))).toEqual([]);
  });
});
