import type { Request, Response } from 'express';
import {
  EventStreams,
  lastEventId,
  type EventStream,
  type EventStreamLimits,
  type ProxyTrust,
} from '@mini-blog/common/service';
import { pushSpan } from '@mini-blog/common/tracing';

export interface LiveOptions {
  readonly limits?: EventStreamLimits;
  /** The proxies in front of query (the gateway, the ingress), whose forwarded client address bounds the streams per client. */
  readonly proxies?: ProxyTrust;
  /** At most this many recent changes are kept for replays... */
  readonly replayEvents?: number;
  /** ...and at most this many characters of them: each change is a whole post, and a post with hundreds of long comments makes thousands of changes weigh gigabytes. */
  readonly replayChars?: number;
}

export const DEFAULT_REPLAY_EVENTS = 5000;
export const DEFAULT_REPLAY_CHARS = 16 * 1024 * 1024;

interface Change {
  readonly seq: number;
  readonly text: string;
}

/**
 * The live stream of read-model changes. Each change carries the whole post, so a client applies
 * it when its version is newer and ignores it otherwise: duplicates and reordering are harmless.
 * Recent changes are kept, within a bound, so a client reconnecting with Last-Event-ID gets what it
 * missed; when they are no longer kept it gets `reset` and reloads the feed. A client that stops
 * reading is dropped at the streams' bound on unsent bytes, and reconnects the same way.
 */
export class LiveChanges {
  private readonly recent: Change[] = [];
  private recentChars = 0;
  private readonly live = new Set<EventStream>();
  private readonly streams: EventStreams;
  private readonly replayEvents: number;
  private readonly replayChars: number;
  /** A client whose last seen seq is at or above this has missed nothing that is not in `recent`. */
  private coveredFrom = 0;

  constructor({
    limits,
    proxies,
    replayEvents = DEFAULT_REPLAY_EVENTS,
    replayChars = DEFAULT_REPLAY_CHARS,
  }: LiveOptions = {}) {
    this.streams = new EventStreams(limits, proxies);
    this.replayEvents = replayEvents;
    this.replayChars = replayChars;
  }

  /** Called once the read model is caught up: changes before this position were never recorded. */
  startCovering(position: number): void {
    this.coveredFrom = position;
  }

  /**
   * Sends a PostChange `{seq, post}`, the post given as its JSON (the read model keeps it serialised).
   * `cause`: the traceparent of the handling of the event that made the change; the push continues
   * that trace, and the browser's handling of the change continues it in turn.
   */
  publish(seq: number, postJson: string, cause?: string): void {
    const traceparent = pushSpan(cause, this.live.size);
    const text =
      traceparent === undefined
        ? `{"seq":${seq},"post":${postJson}}`
        : `{"seq":${seq},"traceparent":"${traceparent}","post":${postJson}}`;
    this.recent.push({ seq, text });
    this.recentChars += text.length;
    while (this.recent.length > this.replayEvents || (this.recentChars > this.replayChars && this.recent.length > 1)) {
      const dropped = this.recent.shift()!;
      this.recentChars -= dropped.text.length;
      this.coveredFrom = dropped.seq;
    }
    for (const stream of this.live) stream.sendRaw('change', text, seq);
  }

  /** Streams open, replaying or live. */
  get clients(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream (a 503 beyond the streams' bound), says hello with `position`, replays what a
   * reconnecting client missed, then sends every change as it happens.
   */
  async attach(req: Request, res: Response, position: number): Promise<void> {
    const lastSeen = lastEventId(req);
    const stream = this.streams.accept(req, res, () => this.live.delete(stream));
    stream.send('hello', { position }, position);
    // Above the position, the client saw a log that is gone.
    if (lastSeen !== undefined && (lastSeen > position || !(await this.replay(stream, lastSeen))))
      stream.send('reset', { position }, position);
    if (!stream.closed) this.live.add(stream);
  }

  /**
   * Sends the kept changes after `lastSeen`, paced by the client's reading, including those made
   * meanwhile; false when some it missed are no longer kept (before, or while it read slowly).
   */
  private async replay(stream: EventStream, lastSeen: number): Promise<boolean> {
    let seen = lastSeen;
    for (;;) {
      if (seen < this.coveredFrom) return false;
      const next = this.firstAfter(seen);
      if (next === undefined || !(await stream.sendPaced('change', next.text, next.seq))) return true;
      seen = next.seq;
    }
  }

  private firstAfter(seq: number): Change | undefined {
    let low = 0;
    let high = this.recent.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.recent[mid]!.seq <= seq) low = mid + 1;
      else high = mid;
    }
    return this.recent[low];
  }
}
