import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FakeWorld {
  objects?: Record<string, unknown>;
  lists?: Record<string, unknown[]>;
  error?: string;
  portForward?: Record<string, number>;
  hidden?: string[];
}

export interface FakeCluster {
  /** The environment that puts the fake kubectl first on PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** The world as it is now (a `create` adds to it). */
  world(): FakeWorld;
  /** Every kubectl call so far: its arguments and what it read on stdin. */
  calls(): { args: string[]; stdin?: string }[];
  cleanup(): void;
}

/** A folder with a fake `kubectl` (support/fake-kubectl.js) answering from the given world. */
export function fakeCluster(world: FakeWorld): FakeCluster {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-kubectl-'));
  const worldFile = path.join(dir, 'world.json');
  writeFileSync(worldFile, JSON.stringify(world));
  symlinkSync(path.join(__dirname, 'fake-kubectl.js'), path.join(dir, 'kubectl'));
  const callsFile = `${worldFile}.calls.jsonl`;
  return {
    env: { ...process.env, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_KUBECTL_WORLD: worldFile },
    world: () => JSON.parse(readFileSync(worldFile, 'utf8')) as FakeWorld,
    calls: () => {
      try {
        return readFileSync(callsFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { args: string[]; stdin?: string });
      } catch {
        return [];
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
