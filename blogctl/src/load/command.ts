import { writeFileSync } from 'node:fs';
import type { LoadCommand } from '../args';
import { BlogctlError } from '../http';
import { headerLine, secondLine, summaryLines } from './format';
import { runLoad } from './generator';

/** `blogctl load`: a line per second while it runs, the summary at the end, the JSON report to `--report`. */
export async function load(
  command: LoadCommand,
  out: { print(text: string): void; readonly json: boolean },
  signal: AbortSignal,
): Promise<void> {
  const { target, rate, durationMs, mix, seedPosts } = command;
  if (!out.json) out.print(headerLine({ target: target.href, rate, durationMs, mix }));
  let report;
  try {
    report = await runLoad({
      target,
      rate,
      durationMs,
      mix,
      seedPosts,
      signal,
      onSecond: (second) => out.print(out.json ? JSON.stringify(second) : secondLine(second)),
      onSeeding: (posts) => out.json || out.print(`making ${posts} posts to comment on, then the clock starts`),
    });
  } catch (err) {
    throw new BlogctlError(`load against ${target.origin}: ${(err as Error).message}`);
  }
  if (command.report !== undefined) writeFileSync(command.report, `${JSON.stringify(report, null, 2)}\n`);
  if (out.json) {
    const { seconds: _seconds, ...summary } = report;
    out.print(JSON.stringify(summary));
    return;
  }
  for (const line of summaryLines(report)) out.print(line);
  if (command.report !== undefined) out.print(`  report    ${command.report}`);
}
