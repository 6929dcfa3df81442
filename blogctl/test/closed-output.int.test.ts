import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** The built blogctl whose reader goes away, as in `blogctl status | head -3`. */
describe('blogctl with its output closed', () => {
  it('stops quietly, with status 0 and no stack on stderr', async () => {
    const child = spawn(path.resolve(__dirname, '..', 'bin', 'blogctl'), ['help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before blogctl writes: its first write finds no reader (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];

    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
