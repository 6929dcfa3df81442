import { execFileSync } from 'node:child_process';

/**
 * Disk trouble for one process: its soft RLIMIT_FSIZE set to 0, so that every write to a regular
 * file fails (EFBIG; Node ignores SIGXFSZ) while reads and pipes keep working. It is what a full or
 * failing disk looks like to SQLite, without root and without touching anybody else's files.
 * Needs util-linux's `prlimit`.
 */
export class FileSizeLimit {
  private constructor(
    private readonly pid: number,
    private readonly original: string,
  ) {}

  static cut(pid: number): FileSizeLimit {
    let original: string;
    try {
      original = execFileSync('prlimit', ['--pid', String(pid), '--fsize', '--raw', '--noheadings', '--output=SOFT'], {
        encoding: 'utf8',
      }).trim();
    } catch (err) {
      throw new Error(
        `the disk-trouble scenario needs util-linux's prlimit (apt-get install -y util-linux): ${(err as Error).message}`,
      );
    }
    execFileSync('prlimit', ['--pid', String(pid), '--fsize=0:']);
    return new FileSizeLimit(pid, original);
  }

  restore(): void {
    execFileSync('prlimit', ['--pid', String(this.pid), `--fsize=${this.original}:`]);
  }
}
