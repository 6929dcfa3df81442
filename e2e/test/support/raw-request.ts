import { connect } from 'node:net';

export interface RawAnswer {
  /** The request line, shortened when long: what a failing test names. */
  readonly request: string;
  readonly status: number;
  readonly text: string;
}

/**
 * Sends the request line exactly as written (nothing escaped or checked on the way, where `fetch`
 * would resolve `..` and escapes), with a JSON body, and reads the answer until the connection closes.
 */
export function sendRaw(base: string, method: string, target: string, body = ''): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  const request = `${method} ${target.length > 80 ? `${target.slice(0, 40)}… (${target.length} bytes)` : target}`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const headers = `Host: posts.com\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      socket.write(Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers}${body}`, 'latin1'));
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ request, status: Number(answer.split(' ', 2)[1] ?? 0), text: answer }));
  });
}
