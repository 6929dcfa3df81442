import path from 'node:path';
import type { Envelope } from '@mini-blog/common/events';
import { projectionFileName, type ProjectionDefinition } from '@mini-blog/common/projection';
import type { SubscriberName } from '@mini-blog/common/registry';
import { checkpointOf, checkProjectionFile, dumpProjectionFile, waitFor } from '@mini-blog/common/testing';
import { commentsProjection } from '../../../comments/src/projection';
import { createModerator } from '../../../moderation/src/domain';
import { moderationProjection } from '../../../moderation/src/projection';
import { postsProjection } from '../../../posts/src/projection';
import { startFaultSystem, type FaultSystem } from './support/fault-system';
import { recordFigures } from './support/figures';
import { jetstreamLog } from './support/jetstream';
import { Ledger, Load } from './support/load';
import { readLog } from './support/verify';

/**
 * kill -9 of a service at random moments under load, many times in a row, on both transports; after
 * each run its projection file must hold what one built anew from the log holds at the same
 * checkpoint (table by table), and each of its reactions must be in the log exactly once. The kills
 * land anywhere: in a transaction, between a commit and the acknowledgement of the delivery,
 * between a reaction's publish and its row's removal from the outbox.
 */

jest.setTimeout(240_000);

/** A service under test, and its projection as the test process builds it from the log. */
interface Victim {
  readonly name: SubscriberName;
  readonly definition: ProjectionDefinition<SubscriberName, unknown>;
  /** The events of the log that are its reactions, and the events that cause one each. */
  readonly reactions?: { readonly type: Envelope['type']; readonly causedBy: Envelope['type'] };
}

const VICTIMS: readonly Victim[] = [
  {
    name: 'moderation',
    definition: moderationProjection(createModerator(['orange'])) as ProjectionDefinition<SubscriberName, unknown>,
    reactions: { type: 'CommentModerated', causedBy: 'CommentCreated' },
  },
  {
    name: 'comments',
    definition: commentsProjection as ProjectionDefinition<SubscriberName, unknown>,
    reactions: { type: 'CommentUpdated', causedBy: 'CommentModerated' },
  },
  { name: 'posts', definition: postsProjection as ProjectionDefinition<SubscriberName, unknown> },
];

/**
 * Kills of each service on each transport, each at a random point 1 to 8 requests after it is ready
 * again: 6 keeps the whole file near a minute on a quiet 2-core machine (a restart is most of a
 * cycle); CRASH_KILLS=100 makes it a soak.
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 6);

const TRANSPORTS = [
  ['http', undefined],
  ['jetstream', { transport: 'jetstream', natsNodes: 1 }],
] as const;

describe.each(TRANSPORTS)('a service killed with SIGKILL at random points under load (%s)', (transport, choice) => {
  let fault: FaultSystem;

  beforeAll(async () => {
    fault = await startFaultSystem({ name: `crash-${transport}`, transport: choice });
  });

  afterAll(async () => {
    await fault?.stop();
  });

  const readWholeLog = () => (choice ? jetstreamLog(fault)() : readLog(fault.log));

  it.each(VICTIMS.map((victim) => [victim.name, victim] as const))(
    '%s: its projection equals one rebuilt from the log, and each reaction is in the log once',
    async (name, victim) => {
      const { system, gateway } = fault;
      const service = system.services[name];
      const ledger = new Ledger();
      const load = new Load({
        gateway,
        ledger,
        tag: `crash-${transport}-${name}`,
        maxRequests: 5000,
        concurrency: 8,
        ratePerSecond: 80,
      });
      const started = Date.now();
      try {
        for (let kill = 0; kill < KILLS; kill += 1) {
          const at = load.issued + 1 + Math.floor(Math.random() * 8);
          await waitFor(() => load.issued >= at, `request ${at}`, { timeoutMs: 10_000 });
          await service.stop('SIGKILL');
          service.start();
          await system.waitReady(name, 20_000);
        }
      } finally {
        await load.stop();
      }
      const killedFor = Date.now() - started;

      const file = path.join(fault.dataDir, name, projectionFileName(name));
      // Settled: every cause in the log has its reaction there, and nothing waits in the outbox.
      const settled = await waitFor(
        async () => {
          const events = await readWholeLog();
          const dump = dumpProjectionFile(file);
          const pending = dump.projection_outbox?.length ?? 0;
          if (pending > 0 || checkpointOf(dump) === 0) return false;
          if (!victim.reactions) return events;
          const causes = events.filter((event) => event.type === victim.reactions!.causedBy).length;
          const reactions = events.filter((event) => event.type === victim.reactions!.type).length;
          return reactions >= causes ? events : false;
        },
        `${name} to settle: every ${victim.reactions?.causedBy ?? 'event'} answered, its outbox empty`,
        { timeoutMs: 30_000, intervalMs: 200 },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n--- service logs ---\n${fault.logTail(60)}`);
      });

      // The log is read again after the file: the service may have applied events since it settled
      // (a verdict published late), and the rebuild must reach its checkpoint.
      const { checkpoint, differences } = await checkProjectionFile(file, name, victim.definition, readWholeLog);
      const causes = settled.filter((event) => event.type === victim.reactions?.causedBy);
      const reactions = settled.filter((event) => event.type === victim.reactions?.type);
      const reactionsPerCause = new Map<string, number>();
      for (const reaction of reactions) {
        const cause = (reaction.data as { id: string }).id;
        reactionsPerCause.set(cause, (reactionsPerCause.get(cause) ?? 0) + 1);
      }
      recordFigures(`projection-crash-${transport}-${name}`, {
        kills: KILLS,
        killedForMs: killedFor,
        requests: ledger.requests,
        acknowledged: ledger.acknowledged,
        logEvents: settled.length,
        checkpoint,
        reactions: reactions.length,
      });

      expect(differences).toEqual([]);
      expect(ledger.acknowledged).toBeGreaterThan(KILLS);
      if (victim.reactions) {
        expect(causes.length).toBeGreaterThan(0);
        expect(causes.filter((cause) => reactionsPerCause.get(cause.data.id as string) !== 1)).toEqual([]);
        expect(reactions).toHaveLength(causes.length);
      }
    },
  );
});
