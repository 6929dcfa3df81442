import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { BusUnavailableError } from '../errors';
import type { Link } from './link';
import { describe } from './live-consumer';
import { isApiError, lastSequenceOf, SLOT_TTL_MS, WRONG_LAST_SEQUENCE } from './stream';
import { REPLICA_SLOTS, slotSubject, SLOTS_STREAM_NAME } from './subjects';

/** A claim is renewed this often: two renewals may fail before it runs out. */
const RENEW_EVERY_MS = SLOT_TTL_MS / 3;

export interface ReplicaSlotOptions {
  readonly service: string;
  /** This process among the service's replicas (its pod name): written in the claim, for operators. */
  readonly replica: string;
  readonly link: () => Promise<Link>;
  readonly logger: Logger;
  /** Called when another replica has taken the slot (this one's claim ran out): its consumers are no longer this replica's. */
  readonly onLost: () => void;
}

/**
 * A replica's claim on one of its service's `REPLICA_SLOTS`, which names its consumers
 * (`<service>-<slot>`), so that NATS permissions can list a service's consumers by name. A claim is
 * a message on `replicas.<service>.<slot>`, published only if the subject has none (JetStream's
 * expected last subject sequence, decided by the stream leader: two replicas cannot both get it),
 * renewed every few seconds on the same condition, and gone SLOT_TTL_MS after the last renewal (the
 * stream's max age) when the replica died. A replica that stops cleanly marks its slot released, so
 * that its next process takes the same one at once.
 */
export class ReplicaSlot {
  private held: { slot: number; seq: number } | undefined;
  private claiming: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReplicaSlotOptions) {}

  /** The slot this replica holds, claimed on first use (and again after one was lost). */
  get(): Promise<number> {
    if (this.held) return Promise.resolve(this.held.slot);
    this.claiming ??= this.claim().finally(() => {
      this.claiming = undefined;
    });
    return this.claiming;
  }

  /** True while the slot is this replica's: renews the claim now; false once another replica took it. */
  async renew(): Promise<boolean> {
    const held = this.held;
    if (!held) return false;
    const { client } = await this.options.link();
    try {
      const ack = await client.publish(slotSubject(this.options.service, held.slot), this.claimBody(), {
        expect: { lastSubjectSequence: held.seq },
      });
      if (this.held === held) held.seq = ack.seq;
      return true;
    } catch (err) {
      if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err;
      if (this.held === held) {
        this.held = undefined;
        this.options.logger.error(
          { slot: held.slot, service: this.options.service },
          'this replica lost its slot to another (its claim ran out): its consumers are made again under a new slot',
        );
      }
      return false;
    }
  }

  /** Marks the slot released (its next claim needs no wait) and stops renewing. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    try {
      const { client } = await this.options.link();
      await client.publish(slotSubject(this.options.service, held.slot), JSON.stringify({ released: true }), {
        expect: { lastSubjectSequence: held.seq },
      });
    } catch {
      // The claim runs out by itself.
    }
  }

  private async claim(): Promise<number> {
    const { client, manager } = await this.options.link();
    for (let slot = 0; slot < REPLICA_SLOTS; slot += 1) {
      const subject = slotSubject(this.options.service, slot);
      let seq: number | undefined;
      try {
        seq = (await client.publish(subject, this.claimBody(), { expect: { lastSubjectSequence: 0 } })).seq;
      } catch (err) {
        if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err;
        const last = lastSequenceOf(err);
        const claim = await manager.streams.getMessage(SLOTS_STREAM_NAME, { seq: last }).catch(() => null);
        if (claim && isReleased(claim.string())) {
          seq = await client
            .publish(subject, this.claimBody(), { expect: { lastSubjectSequence: last } })
            .then((ack) => ack.seq)
            .catch((retry: unknown) => {
              if (isApiError(retry, WRONG_LAST_SEQUENCE)) return undefined;
              throw retry;
            });
        }
      }
      if (seq === undefined) continue;
      this.held = { slot, seq };
      this.startRenewing();
      this.options.logger.info({ slot, service: this.options.service }, 'claimed a replica slot');
      return slot;
    }
    throw new BusUnavailableError(
      `${this.options.service}: all ${REPLICA_SLOTS} replica slots are held by running replicas (a slot held by a replica that died is free ${SLOT_TTL_MS / 1000} s later)`,
    );
  }

  private startRenewing(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.renew().then(
        (held) => {
          if (!held) {
            clearInterval(this.timer);
            this.options.onLost();
          }
        },
        (err: unknown) =>
          // The cluster cannot be reached: the claim holds until its time is up, and so do the consumers.
          this.options.logger.warn({ err: describe(err) }, 'cannot renew the replica slot yet'),
      );
    }, RENEW_EVERY_MS);
    this.timer.unref();
  }

  private claimBody(): string {
    return JSON.stringify({ replica: this.options.replica, host: hostname(), pid: process.pid });
  }
}

function isReleased(body: string): boolean {
  try {
    return (JSON.parse(body) as { released?: unknown }).released === true;
  } catch {
    return false;
  }
}
