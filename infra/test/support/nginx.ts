import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@mini-blog/common/service';

/**
 * A real nginx for conformance checks, where one is installed (Debian's nginx-light; it is no
 * dependency of the project): every request is answered 200 with the `$uri` nginx matched
 * locations against, or refused by nginx itself.
 */
export const NGINX = ['/usr/sbin/nginx', 'nginx'].find((binary) => spawnSync(binary, ['-v']).status === 0);

export interface RunningNginx {
  /** Sends a raw request line for the target; the status and body of the answer. */
  get(target: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export async function startNginx(binary: string): Promise<RunningNginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mini-blog-nginx-'));
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; error_log ${path.join(dir, 'error.log')}; pid ${path.join(dir, 'nginx.pid')};
events { worker_connections 64; }
http {
  access_log off; ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}
  server { listen 127.0.0.1:${port}; location ~* "^/" { default_type text/plain; return 200 "$uri"; } }
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  const get = (target: string) => rawGet(port, target);
  for (let attempt = 0; ; attempt += 1) {
    try {
      await get('/');
      break;
    } catch (err) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    get,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.end(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: posts.com\r\nConnection: close\r\n\r\n`, 'latin1')),
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}
