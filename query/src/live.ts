import type { Request, Response } from 'express';
import { openEventStream, type EventStream } from '@mini-blog/common';

/**
 * The live stream of read-model changes. Each change carries the whole post, so a client applies
 * it when its version is newer and ignores it otherwise: duplicates and reordering are harmless.
 * Recent changes are kept, so a client reconnecting with Last-Event-ID gets what it missed; when
 * they are no longer kept it gets `reset` and reloads the feed.
 */
export class LiveChanges {
  private readonly recent: { seq: number; text: string }[] = [];
  private recentChars = 0;
  private readonly streams = new Set<EventStream>();
  /** A client whose last seen seq is at or above this has missed nothing that is not in `recent`. */
  private coveredFrom = 0;

  /**
   * At most `keep` changes and `keepChars` characters of them: each change is a whole post, and a
   * post with hundreds of long comments makes thousands of changes weigh gigabytes.
   */
  constructor(
    private readonly keep = 5000,
    private readonly keepChars = 16 * 1024 * 1024,
  ) {}

  /** Called once the read model is caught up: changes before this position were never recorded. */
  startCovering(position: number): void {
    this.coveredFrom = position;
  }

  /** Sends a PostChange `{seq, post}`, the post given as its JSON (the read model keeps it serialised). */
  publish(seq: number, postJson: string): void {
    const text = `{"seq":${seq},"post":${postJson}}`;
    this.recent.push({ seq, text });
    this.recentChars += text.length;
    while (this.recent.length > this.keep || (this.recentChars > this.keepChars && this.recent.length > 1)) {
      const dropped = this.recent.shift()!;
      this.recentChars -= dropped.text.length;
      this.coveredFrom = dropped.seq;
    }
    for (const stream of this.streams) stream.sendRaw('change', text, seq);
  }

  get clients(): number {
    return this.streams.size;
  }

  attach(req: Request, res: Response, position: number): void {
    const stream = openEventStream(req, res, () => this.streams.delete(stream));
    const header = req.header('last-event-id');
    const lastSeen = header === undefined || header.trim() === '' ? Number.NaN : Number(header);
    stream.send('hello', { position }, position);
    if (Number.isSafeInteger(lastSeen) && lastSeen >= 0) {
      // Below what is kept, the client missed changes; above the position, it saw a log that is gone.
      if (lastSeen < this.coveredFrom || lastSeen > position) {
        stream.send('reset', { position }, position);
      } else {
        for (const change of this.recent) if (change.seq > lastSeen) stream.sendRaw('change', change.text, change.seq);
      }
    }
    this.streams.add(stream);
  }
}
