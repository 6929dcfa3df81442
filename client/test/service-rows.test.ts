import type { SubscriptionStatus, SupervisorView } from '@mini-blog/common/events';
import { subscriptionStatus } from '@mini-blog/common/testing/browser';
import { serviceRows } from '../src/features/services/model/service-rows';

const process = (name: string, state: 'running' | 'stopped' = 'running') => ({
  name,
  state,
  ready: state === 'running',
  restarts: 0,
  lastExit: null,
  since: '2026-12-06T10:00:00.000Z',
});

const supervisor = (names: string[], faults?: SupervisorView['faults']): SupervisorView => ({
  transport: 'http',
  switches: true,
  services: names.map((name) => process(name)),
  ...(faults ? { faults } : {}),
});

describe('the rows of the services panel', () => {
  it("puts each process with its subscription and its switches, in the supervisor's order", () => {
    const rows = serviceRows(
      supervisor(['event-bus', 'query'], {
        deliveries: { query: { paused: true, latencyMs: 0, failing: false } },
        log: { slowMs: 0 },
      }),
      [subscriptionStatus('query', 3, { lag: 2, head: 5 })],
    );

    expect(rows.map((row) => [row.name, row.subscription?.lag ?? null, row.faults.paused])).toEqual([
      ['event-bus', null, false],
      ['query', 2, true],
    ]);
  });

  it("takes, on JetStream, the consumer least behind as the service's, and counts the events parked at any", () => {
    const consumers: SubscriptionStatus[] = [
      subscriptionStatus('comments-0', 1, { lag: 12, parked: 1 }),
      subscriptionStatus('comments-1', 13, { lag: 0, parked: 2 }),
    ];

    const [row] = serviceRows(supervisor(['comments']), consumers);

    expect(row).toMatchObject({ name: 'comments', subscription: { name: 'comments-1', lag: 0, parked: 3 } });
    expect(serviceRows(supervisor(['comments']), consumers)).toHaveLength(1);
  });

  it('shows the subscribers alone where no supervisor tells of the processes (Kubernetes)', () => {
    const rows = serviceRows(null, [subscriptionStatus('posts', 5), subscriptionStatus('course-query', 5)]);

    expect(rows.map((row) => [row.name, row.process])).toEqual([
      ['posts', null],
      ['course-query', null],
    ]);
  });
});
