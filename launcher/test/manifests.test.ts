import { ingressRouter } from '../src/manifests';

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
