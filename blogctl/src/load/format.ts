import type { LoadReport, SecondFigures } from './generator';
import type { Percentiles } from './percentiles';

/** The lines `blogctl load` prints: one per second while it runs, and the summary. */

const ms = (value: number | null) =>
  value === null ? '-' : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value).toLocaleString('en-US')} ms`;
const count = (value: number) => value.toLocaleString('en-US');
const spread = ({ p50, p99 }: Percentiles) => `p50 ${ms(p50)} p99 ${ms(p99)}`;
const full = ({ count: n, p50, p90, p99, max }: Percentiles) =>
  n === 0 ? 'none' : `p50 ${ms(p50)}  p90 ${ms(p90)}  p99 ${ms(p99)}  max ${ms(max)}  (n=${count(n)})`;

export function headerLine(report: Pick<LoadReport, 'target' | 'rate' | 'durationMs' | 'mix'>): string {
  return (
    `load: ${count(report.rate)} requests/s for ${report.durationMs / 1000} s against ${report.target} ` +
    `(posts:comments ${report.mix.posts}:${report.mix.comments}), open loop; Ctrl-C stops early`
  );
}

export function secondLine(second: SecondFigures): string {
  return [
    `${String(second.second).padStart(4)} s`,
    `sent ${count(second.sent).padStart(5)}`,
    `2xx ${count(second.created).padStart(5)}`,
    `failed ${count(second.failed).padStart(4)}`,
    `in flight ${count(second.inFlight).padStart(4)}`,
    `request ${spread(second.request)}`,
    `verdict ${spread(second.verdict)}`,
  ].join('  ');
}

export function summaryLines(report: LoadReport): string[] {
  const { posts, comments } = report;
  const failures = Object.entries(report.failures).sort(([, a], [, b]) => b - a);
  const kept = report.sentPerSecond >= report.rate * 0.98;
  return [
    `summary (run ${report.runId}${report.stopped ? ', stopped early' : ''}):`,
    `  sent      ${count(report.sent)} requests at ${report.sentPerSecond.toFixed(1)}/s of ${count(report.rate)}/s asked` +
      `${kept ? '' : ': the rate was NOT kept'}; generator lateness p99 ${ms(report.lateness.p99)}, its CPU ${count(report.cpuMs)} ms`,
    `  comments  ${count(comments.sent)} sent, ${count(comments.created)} answered 2xx, ${count(comments.failed)} failed, ` +
      `${count(comments.unanswered)} unanswered; verdicts on the live stream ` +
      `${count(comments.approved + comments.rejected)} (${count(comments.approved)} approved, ${count(comments.rejected)} rejected), ` +
      `${count(comments.missing)} missing`,
    `            send → verdict on /posts/stream  ${full(comments.shown)}`,
    `            send → 2xx                       ${full(comments.request)}`,
    `  posts     ${count(posts.sent)} sent, ${count(posts.created)} answered 2xx, ${count(posts.failed)} failed, ` +
      `${count(posts.unanswered)} unanswered; ${count(posts.created - posts.missing)} on the live stream, ` +
      `${count(posts.missing)} missing (and ${count(report.seededPosts)} made before the clock, to comment on)`,
    `            send → on /posts/stream          ${full(posts.shown)}`,
    `            send → 2xx                       ${full(posts.request)}`,
    `  failed    ${failures.length === 0 ? 'none' : failures.map(([reason, n]) => `${reason} × ${count(n)}`).join(', ')}`,
  ];
}
