import { parseSubscribers } from '../../event-bus/src/config';
import { ingressRouter, localSubscribers } from '../src/manifests';

describe('localSubscribers', () => {
  it("keeps the ConfigMap's subscribers and their options, with this machine's URLs", () => {
    const ports: Record<string, number> = { posts: 5000, comments: 5001, query: 5002, moderation: 5003 };
    const value = localSubscribers((name) => `http://127.0.0.1:${ports[name]}`);

    const subscribers = parseSubscribers(value);

    expect(subscribers.map((s) => [s.name, s.url])).toEqual([
      ['posts', 'http://127.0.0.1:5000/events'],
      ['comments', 'http://127.0.0.1:5001/events'],
      ['query', 'http://127.0.0.1:5002/events'],
      ['moderation', 'http://127.0.0.1:5003/events'],
    ]);
    expect(subscribers.every((s) => s.batch && s.types !== null)).toBe(true);
  });
});

describe('ingressRouter', () => {
  it.each([
    ['/posts/create', 'posts'],
    ['/posts/abc/comments', 'comments'],
    ['/posts', 'query'],
    ['/posts/feed?limit=20', 'query'],
    ['/posts/stream', 'query'],
    ['/subscriptions', 'event-bus'],
    ['/flow/stream', 'event-bus'],
    ['/', 'client'],
    ['/event-flow', 'client'],
    ['/events', 'client'],
    ['/admin/parked', 'client'],
  ])('routes %s to %s, as the ingress does', (requestPath, service) => {
    expect(ingressRouter()(requestPath)).toBe(service);
  });
});
