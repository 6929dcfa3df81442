import type { EventMeta, ParkedEvent, SubscriptionStatus } from '@mini-blog/common/events';
import type { Command } from './args';
import type { SwitchCommand } from './faults';
import { readEventStream } from './flow-stream';
import { BlogctlError, messageOf, request } from './http';
import { rebuild } from './rebuild';
import type { Readiness, Target } from './target';

export interface Output {
  /** One line (or table) of the result. */
  print(text: string): void;
  readonly json: boolean;
}

/** How many recent events `tail` shows before it follows the stream. */
const TAIL_BACKLOG = 10;

export async function runCommand(
  command: Exclude<Command, { name: 'help' | 'load' } | SwitchCommand>,
  target: Target,
  out: Output,
  signal: AbortSignal,
): Promise<void> {
  switch (command.name) {
    case 'status':
      return status(target, out);
    case 'parked':
      return parked(target, out, command.subscriber);
    case 'replay':
    case 'skip': {
      const answer = await admin(
        target,
        'POST',
        `/admin/subscriptions/${command.subscriber}/parked/${command.seq}/${command.name}`,
      );
      return out.print(
        out.json
          ? JSON.stringify(answer)
          : command.name === 'replay'
            ? `${command.subscriber}: replaying ${command.seq}; its parked record goes once the subscriber acknowledges it`
            : `${command.subscriber}: skipped ${command.seq}`,
      );
    }
    case 'rewind': {
      const answer = (await admin(target, 'PUT', `/admin/subscriptions/${command.subscriber}/cursor`, {
        cursor: command.seq,
      })) as SubscriptionStatus;
      return out.print(
        out.json
          ? JSON.stringify(answer)
          : `${command.subscriber}: delivering again everything after ${command.seq} (lag ${answer.lag})`,
      );
    }
    case 'tail':
      return tail(target, out, command.count, signal);
    case 'rebuild':
      return rebuild(target, out, command, signal);
  }
}

/** An admin route of the bus's main port, with the admin credential; its JSON answer. */
async function admin(target: Target, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
  const token = target.adminToken();
  const { status, json } = await request(new URL(path, await target.busUrl()), { method, token, body });
  if (status === 401 || status === 403)
    throw new BlogctlError(`the bus refused the admin credential (${status}: ${messageOf(status, json)})`);
  if (status >= 400) throw new BlogctlError(messageOf(status, json));
  return json;
}

async function view(target: Target, path: string): Promise<unknown> {
  const { status, json } = await request(new URL(path, await target.viewsUrl()));
  if (status >= 400) throw new BlogctlError(`${path}: ${messageOf(status, json)}`);
  return json;
}

async function status(target: Target, out: Output): Promise<void> {
  const [subscriptions, services] = await Promise.all([
    view(target, '/subscriptions') as Promise<SubscriptionStatus[]>,
    target.readiness(),
  ]);
  if (out.json) return out.print(JSON.stringify({ subscriptions, services }));
  const head = Math.max(0, ...subscriptions.map((subscription) => subscription.head));
  out.print(`Subscribers (log head ${head})`);
  out.print(
    table(
      ['NAME', 'CURSOR', 'LAG', 'IN FLIGHT', 'PARKED', 'STATE'],
      subscriptions.map((subscription) => [
        subscription.name,
        String(subscription.cursor),
        String(subscription.lag),
        String(subscription.inFlight),
        String(subscription.parked),
        stateOf(subscription),
      ]),
    ),
  );
  out.print('');
  out.print('Services');
  out.print(
    table(
      ['NAME', 'READY'],
      services.map((service: Readiness) => [service.name, service.detail]),
    ),
  );
}

function stateOf(subscription: SubscriptionStatus): string {
  if (subscription.blockedAt !== null)
    return `blocked at ${subscription.blockedAt}: ${subscription.lastError ?? 'refused'}`;
  if (subscription.lastError !== null && subscription.attempts > 0) return `retrying: ${subscription.lastError}`;
  return subscription.lag === 0 ? 'caught up' : 'delivering';
}

/**
 * The HTTP bus lists parked events on an admin route (its records hold the subscriber's answer); on
 * JetStream the views list them from the cluster's notices, which hold none, so no credential is
 * needed there. The views are asked first: the HTTP bus's answer 404.
 */
async function parkedRecords(target: Target, subscriber: string | undefined): Promise<ParkedEvent[]> {
  const query = subscriber === undefined ? '' : `?subscriber=${encodeURIComponent(subscriber)}`;
  const fromViews = await request(new URL(`/parked${query}`, await target.viewsUrl()));
  if (fromViews.status === 200) return (fromViews.json as { parked: ParkedEvent[] }).parked;
  return ((await admin(target, 'GET', `/admin/parked${query}`)) as { parked: ParkedEvent[] }).parked;
}

async function parked(target: Target, out: Output, subscriber: string | undefined): Promise<void> {
  const records = await parkedRecords(target, subscriber);
  if (out.json) return out.print(JSON.stringify(records));
  if (records.length === 0) return out.print('no parked events');
  out.print(
    table(
      ['SUBSCRIBER', 'SEQ', 'TYPE', 'ID', 'ATTEMPTS', 'PARKED AT', 'REASON'],
      records.map((record) => [
        record.subscriber,
        String(record.seq),
        record.type,
        record.id,
        String(record.attempts),
        record.parkedAt,
        record.reason,
      ]),
    ),
  );
}

/**
 * The newest events, then every event and delivery as it happens, one line each; with `count`, that
 * many lines in all (the newest events first, then live ones), then it stops.
 */
async function tail(target: Target, out: Output, count: number | undefined, signal: AbortSignal): Promise<void> {
  const backlog = Math.min(count ?? TAIL_BACKLOG, TAIL_BACKLOG);
  const { events } = (await view(target, `/flow?limit=${backlog}`)) as { events: EventMeta[] };
  for (const event of events.slice(-backlog))
    out.print(out.json ? JSON.stringify({ event: 'appended', ...event }) : appendedLine(event));
  let seen = Math.min(events.length, backlog);
  if (count !== undefined && seen >= count) return;
  await readEventStream(new URL('/flow/stream', await target.viewsUrl()), signal, ({ event, data }) => {
    if (event !== 'appended' && event !== 'delivered') return true;
    const parsed = JSON.parse(data) as EventMeta & { subscriber: string; cursor: number };
    if (out.json) out.print(JSON.stringify({ event, ...parsed }));
    else
      out.print(
        event === 'appended' ? appendedLine(parsed) : `${' '.repeat(8)}-> ${parsed.subscriber} at ${parsed.cursor}`,
      );
    seen += 1;
    return count === undefined || seen < count;
  });
}

const appendedLine = (event: EventMeta) =>
  `${String(event.seq).padStart(7)} ${event.type.padEnd(18)} ${event.id} ${event.time}`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  return [header, ...rows]
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '),
    )
    .join('\n');
}
