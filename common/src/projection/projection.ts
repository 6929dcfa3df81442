import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ConsumerState } from '../service/consumer';
import type { Envelope, NewEvent } from '../events';
import { SERVICES, type Handled, type SubscriberName } from '../registry';
import { backoffDelay } from '../transport/backoff';
import { NotReadyError } from '../transport/errors';
import { asideName, checkInBackground, moveDatabase, removeDatabase, setAsideIfUnusable } from './open';
import { ProjectionStore, type ApplyInTransaction } from './store';
import type { ProjectionDefinition } from './types';

export interface ProjectionOptions<S extends SubscriberName, M> {
  readonly service: S;
  readonly definition: ProjectionDefinition<S, M>;
  /** The service's data folder; left out, an in-memory database (built from the log at every start: tests). */
  readonly dataDir?: string;
  /** Names this process's file when several replicas of the service share the folder. */
  readonly replica?: string;
  readonly logger: Logger;
  /**
   * Files up to this size get SQLite's quick check before they are opened; larger ones are opened
   * at once and checked in a worker thread (`integrityChecked`). 32 MiB by default: about 150 ms.
   */
  readonly checkBeforeOpenBytes?: number;
}

/** Below it a file is checked before it opens; above it, in the background. */
export const CHECK_BEFORE_OPEN_BYTES = 32 * 1024 * 1024;

/** The file of a service's projection in its folder: one per replica. */
export function projectionFileName(service: string, replica?: string): string {
  return `${service}${replica ? `-${replica}` : ''}.sqlite`;
}

/** The SQLite errors that say the file cannot be written now (a full disk, an I/O error), rather than a bug. */
const WRITE_FAILURES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED)/;

export function isWriteFailure(err: unknown): boolean {
  return WRITE_FAILURES.test(String((err as { code?: unknown }).code ?? ''));
}

/** A projection's database that cannot be written: deliveries wait (503), reads answer 503. */
export class ProjectionUnwritableError extends NotReadyError {
  override name = 'ProjectionUnwritableError';
}

/** One open file and the model the service's `open` made over it. */
class OpenProjection<M> {
  readonly model: M;
  constructor(
    readonly store: ProjectionStore,
    open: (db: ProjectionStore['db']) => M,
  ) {
    this.model = open(store.db);
  }
}

/** A projection being built beside the live one, from the start of the log; `Projection.swap` puts it in its place. */
export class RebuildTarget<M> implements ConsumerState {
  constructor(
    /** Its file (undefined in memory). */
    readonly file: string | undefined,
    readonly opened: OpenProjection<M>,
    private readonly apply: ApplyInTransaction,
  ) {}

  get position(): number {
    return this.opened.store.position;
  }

  get pendingReactions(): number {
    return this.opened.store.pendingReactions;
  }

  commit(events: readonly Envelope[], next: number): number {
    return this.opened.store.commit(events, next, this.apply);
  }

  pendingBatch(limit: number): readonly NewEvent[] {
    return this.opened.store.pendingBatch(limit);
  }

  published(ids: readonly string[]): void {
    this.opened.store.published(ids);
  }
}

/**
 * A service's projection of the log: one SQLite file (or an in-memory database) that holds its
 * tables, its checkpoint and its outbox, with the service's model over it. The consumer engine
 * applies events through it (`ConsumerState`): each batch in one transaction that also moves the
 * checkpoint and records the reactions. A write the disk refuses makes it unwritable (reads and
 * readiness answer 503) until a probe write succeeds again. `beginRebuild` and `swap` replace the
 * file with one built anew from the log.
 */
export class Projection<S extends SubscriberName, M> implements ConsumerState {
  /** The live file; undefined for an in-memory database. */
  readonly file: string | undefined;
  private live: OpenProjection<M>;
  private failure: string | undefined;
  /** What the background check found wrong with the live file; cleared when a rebuild replaces it. */
  private corruption: string | undefined;
  /** Called once a background check has found the live file corrupt: the service rebuilds it. */
  onCorrupt: (() => void) | undefined;
  /** Resolves once the live file has been checked (at once when it was checked before it opened). */
  readonly integrityChecked: Promise<void>;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeAttempt = 0;
  private readonly applyHandled: (model: M) => ApplyInTransaction;
  private readonly logger: Logger;

  constructor(private readonly options: ProjectionOptions<S, M>) {
    const { service, definition, dataDir, replica } = options;
    this.logger = options.logger;
    const handles: ReadonlySet<string> = new Set(SERVICES[service].handles);
    // The registry says which types reach the reducer (its own reactions are read, not applied), so its narrower type holds.
    this.applyHandled = (model) => (event) =>
      handles.has(event.type) ? definition.apply(model, event as Envelope<Handled<S>>) : undefined;
    if (dataDir === undefined) {
      this.file = undefined;
    } else {
      // A folder made here is the owner's alone; one given (a volume's mount point) keeps its mode.
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      this.file = path.join(dataDir, projectionFileName(service, replica));
      // A rebuild that a crash interrupted: started again from scratch when asked.
      removeDatabase(this.rebuildFile);
    }
    const large =
      this.file !== undefined &&
      existsSync(this.file) &&
      statSync(this.file).size > (options.checkBeforeOpenBytes ?? CHECK_BEFORE_OPEN_BYTES);
    if (this.file !== undefined)
      setAsideIfUnusable(
        this.file,
        { service, version: definition.version, steps: definition.migrations.length },
        this.logger,
        { quickCheck: !large },
      );
    this.live = this.openAt(this.file ?? ':memory:');
    this.integrityChecked = large ? this.checkLiveFile(this.file!) : Promise.resolve();
    this.logger.info(
      { file: this.file ?? ':memory:', version: definition.version, checkpoint: this.live.store.position },
      'projection open',
    );
  }

  /** The service's model over the live database: read it anew each time, a rebuild replaces it. */
  get model(): M {
    return this.live.model;
  }

  get position(): number {
    return this.live.store.position;
  }

  get pendingReactions(): number {
    return this.live.store.pendingReactions;
  }

  /**
   * False while the database refuses writes, or was found corrupt and is being rebuilt: the
   * service is not ready and its reads answer 503.
   */
  get writable(): boolean {
    return this.failure === undefined && this.corruption === undefined;
  }

  /** Why it cannot answer, while it cannot. */
  get failureReason(): string | undefined {
    return this.corruption ?? this.failure;
  }

  commit(events: readonly Envelope[], next: number): number {
    try {
      const added = this.live.store.commit(events, next, this.applyHandled(this.live.model));
      if (this.failure !== undefined) this.recovered();
      return added;
    } catch (err) {
      if (!isWriteFailure(err)) throw err;
      this.failed(err);
      throw new ProjectionUnwritableError(`${this.options.service}: ${this.failure!}; deliver again later`);
    }
  }

  pendingBatch(limit: number): readonly NewEvent[] {
    return this.live.store.pendingBatch(limit);
  }

  published(ids: readonly string[]): void {
    try {
      this.live.store.published(ids);
    } catch (err) {
      // Left in the outbox: published again later, which the log answers as a duplicate.
      if (!isWriteFailure(err)) throw err;
      this.failed(err);
    }
  }

  /** Every table's rows (the mechanism's and the service's), sorted: what the crash tests compare. */
  dump(): Record<string, unknown[]> {
    return this.live.store.dump();
  }

  /** A new, empty projection beside the live one, to be filled from the start of the log and swapped in. */
  beginRebuild(): RebuildTarget<M> {
    const file = this.file === undefined ? undefined : this.rebuildFile;
    if (file !== undefined) removeDatabase(file);
    const opened = this.openAt(file ?? ':memory:');
    return new RebuildTarget(file, opened, this.applyHandled(opened.model));
  }

  /**
   * Puts a rebuilt projection in the live one's place: to be called in the consumer's queue, once it
   * has reached the live position, so that no event is applied to either meanwhile. The file is
   * renamed over the live one (atomic: a crash leaves one or the other whole), then opened again.
   * The rebuild's outbox holds every reaction it found no trace of in the log, so nothing pending
   * in the old one is lost (one in flight is published again, which the log answers as a duplicate).
   */
  swap(target: RebuildTarget<M>, { setAside }: { setAside?: string } = {}): void {
    if (target.position < this.position)
      throw new Error(`a rebuild at ${target.position} cannot replace the projection at ${this.position}`);
    const old = this.live;
    if (this.file === undefined || target.file === undefined) {
      this.live = target.opened;
      old.store.close();
      return;
    }
    // Closing the last connection checkpoints its WAL into the file and removes it: one file to rename.
    target.opened.store.close();
    old.store.close();
    try {
      if (setAside !== undefined) {
        // Kept for inspection: a crash before the next rename leaves no live file, built from the log at the next start.
        const aside = asideName(this.file, setAside);
        moveDatabase(this.file, aside);
        this.logger.warn({ file: this.file, movedTo: aside, reason: setAside }, 'projection file moved aside');
      }
      // A WAL left beside the old file would be read into the new one: whatever it held is replaced anyway.
      for (const suffix of ['-wal', '-shm']) rmSync(this.file + suffix, { force: true });
      renameSync(target.file, this.file);
    } finally {
      // The new file, or the old one if the rename failed: either way whole, and live again.
      this.live = this.openAt(this.file);
    }
    this.corruption = undefined;
    if (this.failure !== undefined) this.recovered();
  }

  /** Drops a rebuild that did not finish. */
  abandon(target: RebuildTarget<M>): void {
    target.opened.store.close();
    if (target.file !== undefined) removeDatabase(target.file);
  }

  close(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.live.store.close();
  }

  /** The background check of a large file; a corrupt one makes reads 503 until a rebuild replaces it. */
  private async checkLiveFile(file: string): Promise<void> {
    const result = await checkInBackground(file);
    if (result === 'ok' || this.live.store.db.open === false) return;
    this.corruption = `its projection ${file} is corrupt (quick_check: ${result.split('\n')[0]})`;
    this.logger.error(
      { file, detail: result },
      `${this.corruption}: reads answer 503 while it is rebuilt from the log and moved aside`,
    );
    this.onCorrupt?.();
  }

  private get rebuildFile(): string {
    return `${this.file!}.rebuild`;
  }

  private openAt(file: string): OpenProjection<M> {
    const { service, definition } = this.options;
    // The owner's alone, as the log is (it holds the text of rejected comments); SQLite gives its -wal and -shm the same mode.
    if (file !== ':memory:') closeSync(openSync(file, 'a', 0o600));
    if (file !== ':memory:') chmodSync(file, 0o600);
    const store = new ProjectionStore({
      file,
      service,
      version: definition.version,
      migrations: definition.migrations,
    });
    return new OpenProjection(store, definition.open);
  }

  private failed(err: unknown): void {
    const reason = `cannot write its projection ${this.file ?? ':memory:'} (${(err as { code?: string }).code}: ${(err as Error).message})`;
    if (this.failure === undefined)
      this.logger.error({ file: this.file, err: (err as Error).message }, `${reason}: reads answer 503 until it can`);
    this.failure = reason;
    this.scheduleProbe();
  }

  private recovered(): void {
    this.logger.info({ file: this.file }, 'the projection can be written again');
    this.failure = undefined;
    this.probeAttempt = 0;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** While unwritable, tries a write now and then: a quiet service would otherwise never find out that the disk is back. */
  private scheduleProbe(): void {
    if (this.probeTimer !== undefined) return;
    this.probeAttempt += 1;
    this.probeTimer = setTimeout(
      () => {
        this.probeTimer = undefined;
        try {
          this.live.store.probe();
          this.recovered();
        } catch (err) {
          if (!isWriteFailure(err)) throw err;
          this.scheduleProbe();
        }
      },
      backoffDelay(Math.min(this.probeAttempt, 6), 100, 2000),
    );
    this.probeTimer.unref();
  }
}
