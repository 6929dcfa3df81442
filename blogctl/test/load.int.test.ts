import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PublicComment } from '@mini-blog/common/events';
import { startTemporarySystem, type TemporarySystem } from '@mini-blog/launcher';
import type { LoadReport } from '../src';

/** The built `blogctl load` (bin/blogctl, as a user runs it) against the system `npm start` runs. */

jest.setTimeout(120_000);

const BIN = path.resolve(__dirname, '..', 'bin', 'blogctl');
let run: TemporarySystem;
let dir: string;

beforeAll(async () => {
  run = await startTemporarySystem('blogctl-load-');
  dir = mkdtempSync(path.join(tmpdir(), 'blogctl-load-report-'));
});

afterAll(async () => {
  await run?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI as a child process: the gateway it loads lives in this test's process, which must keep answering. */
function blogctl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('blogctl load against npm start', () => {
  it('prints each second and a summary, and its report counts what the read model then holds', async () => {
    const reportFile = path.join(dir, 'report.json');

    const result = await blogctl([
      'load',
      '--rate',
      '40',
      '--duration',
      '3s',
      '--url',
      run.system.url,
      '--report',
      reportFile,
    ]);

    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^load: 40 requests\/s for 3 s against http:\/\/localhost:\d+\/ \(posts:comments 1:9\)/);
    expect(lines[1]).toBe('making 5 posts to comment on, then the clock starts');
    for (const second of [1, 2, 3])
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ +${second} s +sent +\\d+ +2xx`)));
    expect(result.stdout).toMatch(/^summary \(run [0-9a-f]{6}\):$/m);
    expect(result.stdout).toMatch(/^ {2}sent +120 requests at /m);

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as LoadReport;
    expect(report).toMatchObject({ sent: 120, stopped: false, failures: {} });
    expect(report.posts).toMatchObject({ sent: 12, created: 12, failed: 0, unanswered: 0, missing: 0 });
    expect(report.comments).toMatchObject({ sent: 108, created: 108, failed: 0, unanswered: 0, missing: 0 });
    expect(report.comments.approved + report.comments.rejected).toBe(108);
    expect(report.comments.rejected).toBe(10);
    expect(report.comments.shown.count).toBe(108);
    expect(report.seconds.slice(0, 3).map((second) => second.sent)).toEqual([40, 40, 40]);

    // What the read model holds of this run: the posts whose title names it, and their comments.
    const map = (await (await fetch(`${run.system.url}/posts`)).json()) as Record<
      string,
      { title: string; comments: PublicComment[] }
    >;
    const posts = Object.values(map).filter((post) => post.title.startsWith(`Load ${report.runId} `));
    const comments = posts.flatMap((post) => post.comments);
    expect({
      posts: posts.length,
      comments: comments.length,
      approved: comments.filter((comment) => comment.status === 'approved').length,
      rejected: comments.filter((comment) => comment.status === 'rejected').length,
    }).toEqual({
      posts: report.posts.created + report.seededPosts,
      comments: report.comments.created,
      approved: report.comments.approved,
      rejected: report.comments.rejected,
    });
  });
});
