import http from 'node:http';
import https from 'node:https';
import { NETWORK_FAILURE_WORDS, type PostChange } from '@mini-blog/common/events';

/**
 * The public API as a browser reaches it (through the gateway or the ingress), over node:http with
 * kept-alive connections: fetch costs several times the CPU per request, and the generator shares
 * the machine with the system it measures.
 */

export interface Answer {
  /** 0 when no answer came (refused, reset, timed out). */
  readonly status: number;
  readonly body: unknown;
  /** What went wrong without an answer: `connection refused`, `timeout`. */
  readonly failure?: string;
}

export interface PublicApi {
  post(path: string, body: unknown, idempotencyKey: string): Promise<Answer>;
  /** Opens `GET /posts/stream`; each change goes to `onChange` as it arrives; resolves once the stream answered. */
  watch(onChange: (change: PostChange) => void): Promise<{ close(): void }>;
  close(): void;
}

const REQUEST_TIMEOUT_MS = 30_000;
const NETWORK_FAILURES: Readonly<Record<string, string>> = { ...NETWORK_FAILURE_WORDS, EPIPE: 'connection reset' };

/**
 * Below the gateway's bound on connections from one address (128, `maxConnectionsPerAddress`):
 * past it the gateway resets new connections, and a load from one machine would count them as
 * failures; beyond this many, requests wait in the agent instead.
 */
const DEFAULT_MAX_SOCKETS = 100;

export function publicApi(base: URL, maxSockets = DEFAULT_MAX_SOCKETS): PublicApi {
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets });
  const url = (path: string) => new URL(path, base);

  const post = (path: string, body: unknown, idempotencyKey: string) =>
    new Promise<Answer>((resolve) => {
      const payload = JSON.stringify(body);
      const req = transport.request(
        url(path),
        {
          method: 'POST',
          agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            accept: 'application/json',
            'idempotency-key': idempotencyKey,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', (err) => resolve({ status: 0, body: undefined, failure: describe(err) }));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err) => resolve({ status: 0, body: undefined, failure: describe(err) }));
      req.end(payload);
    });

  const watch = async (onChange: (change: PostChange) => void) => {
    let closed = false;
    let lastId: string | undefined;
    let current: http.ClientRequest | undefined;

    /** One connection; resolves once the stream answered 200. */
    const connect = () =>
      new Promise<http.ClientRequest>((resolve, reject) => {
        const headers = { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) };
        const req = transport.get(url('/posts/stream'), { agent: false, headers }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`GET /posts/stream answered ${res.statusCode}`));
            return;
          }
          resolve(req);
          res.setEncoding('utf8');
          let buffer = '';
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const message = parseMessage(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
              if (message.id !== undefined) lastId = message.id;
              if (message.event === 'change' && message.data !== '') onChange(JSON.parse(message.data) as PostChange);
            }
          });
          res.on('close', reopen);
          res.on('error', () => undefined);
        });
        req.on('error', (err) => reject(new Error(`GET /posts/stream: ${describe(err)}`)));
      });

    // A stream that breaks off (query restarted, a gateway dropped it) is opened again with the
    // last id seen, as a browser does, and query sends what was missed.
    function reopen(): void {
      if (closed) return;
      setTimeout(() => {
        if (closed) return;
        connect().then((req) => {
          if (closed) req.destroy();
          else current = req;
        }, reopen);
      }, 250).unref();
    }

    current = await connect();
    return {
      close: () => {
        closed = true;
        current?.destroy();
      },
    };
  };

  return { post, watch, close: () => agent.destroy() };
}

function parseMessage(block: string): { event: string; data: string; id: string | undefined } {
  let event = 'message';
  let data = '';
  let id: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
    else if (line.startsWith('id: ')) id = line.slice(4);
  }
  return { event, data, id };
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'TIMEOUT') return 'timeout';
  return (code && NETWORK_FAILURES[code]) ?? (err as Error).message;
}
