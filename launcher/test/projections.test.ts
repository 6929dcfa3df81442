import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { matchProjectionsToLog, PROJECTIONS_TRANSPORT_FILE } from '../src/projections';

describe('the projections follow the log they were built from', () => {
  let dataDir: string;
  const lines: string[] = [];
  const log = (service: string, line: string) => lines.push(`${service} | ${line}`);
  const projection = (name: string) => path.join(dataDir, name, `${name}.sqlite`);
  const built = () => SUBSCRIBER_NAMES.filter((name) => existsSync(projection(name)));
  const writeProjections = () => {
    for (const name of SUBSCRIBER_NAMES) {
      mkdirSync(path.join(dataDir, name), { recursive: true });
      writeFileSync(projection(name), 'tables');
    }
  };

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'mini-blog-projections-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps them on the transport that built them, and writes which one it is', () => {
    matchProjectionsToLog(dataDir, 'jetstream', log);
    writeProjections();
    matchProjectionsToLog(dataDir, 'jetstream', log);

    expect(built()).toEqual(SUBSCRIBER_NAMES);
    expect(readFileSync(path.join(dataDir, PROJECTIONS_TRANSPORT_FILE), 'utf8')).toBe('jetstream\n');
    expect(lines).toEqual([]);
  });

  it('removes them, saying so, on a start on the other transport, whose log their checkpoints are not positions in', () => {
    matchProjectionsToLog(dataDir, 'http', log);
    writeProjections();
    writeFileSync(path.join(dataDir, 'events.sqlite'), 'the log');

    matchProjectionsToLog(dataDir, 'jetstream', log);

    expect(built()).toEqual([]);
    expect(existsSync(path.join(dataDir, 'events.sqlite'))).toBe(true);
    expect(lines).toEqual([
      expect.stringMatching(/^launcher \| the projections were built from the http log: removed/),
    ]);
    expect(readFileSync(path.join(dataDir, PROJECTIONS_TRANSPORT_FILE), 'utf8')).toBe('jetstream\n');
  });

  it('takes a data folder without the file and without a NATS store for one of the HTTP bus', () => {
    writeProjections();
    matchProjectionsToLog(dataDir, 'http', log);
    expect(built()).toEqual(SUBSCRIBER_NAMES);

    rmSync(path.join(dataDir, PROJECTIONS_TRANSPORT_FILE));
    matchProjectionsToLog(dataDir, 'jetstream', log);
    expect(built()).toEqual([]);
  });
});
