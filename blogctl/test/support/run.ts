import type { MemoryBus } from '@mini-blog/common/testing';
import { runCli } from '../../src/cli';

/** What one run of blogctl gave: its exit status, what it wrote, and stdout's non-empty lines. */
export interface BlogctlRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: string[];
}

/** Runs one blogctl command line in-process, with this environment (DATA_DIR, kubectl's PATH...). */
export async function runBlogctl(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  signal?: AbortSignal,
): Promise<BlogctlRun> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    ...(signal ? { signal } : {}),
  });
  return { status, stdout, stderr, lines: stdout.split('\n').filter(Boolean) };
}

/** Publishes `count` posts (`PostCreated` p0, p1...) to the bus: a log for a rebuild to replay. */
export async function publishPosts(bus: MemoryBus, count: number): Promise<void> {
  await bus.publishBatch(
    Array.from({ length: count }, (_, index) => ({
      type: 'PostCreated' as const,
      id: `PostCreated:p${index}`,
      data: { id: `p${index}`, title: `Post ${index}` },
    })),
  );
}
