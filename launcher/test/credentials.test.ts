import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN } from '@mini-blog/common/auth';
import { PUBLISHER_NAMES, SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { ConfigError } from '@mini-blog/common/service';
import { ROUTE_CREDENTIAL, VIEWS_PRINCIPAL } from '@mini-blog/common/transport/jetstream/nats-config';
import { ensureCredentials, PRINCIPALS } from '../src/credentials';
import { prepareDataDir } from '../src/system';

const modeOf = (file: string) => statSync(file).mode & 0o777;
const secretOf = (dir: string, principal: string) => readFileSync(path.join(dir, principal), 'utf8');

describe('ensureCredentials', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'mini-blog-credentials-'));
    dir = path.join(root, 'credentials');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('holds a credential for every service that publishes or is delivered events, and the admin', () => {
    expect([...PRINCIPALS].sort()).toEqual(
      [...new Set([...PUBLISHER_NAMES, ...SUBSCRIBER_NAMES]), ADMIN, VIEWS_PRINCIPAL, ROUTE_CREDENTIAL].sort(),
    );
  });

  it('creates one file per principal holding 32 random bytes as base64url, readable by the user only', () => {
    const report = ensureCredentials(dir);

    expect(report).toEqual({ created: PRINCIPALS, reused: [] });
    expect(readdirSync(dir).sort()).toEqual([...PRINCIPALS].sort());
    expect(modeOf(dir)).toBe(0o700);
    for (const principal of PRINCIPALS) {
      expect(secretOf(dir, principal)).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      expect(modeOf(path.join(dir, principal))).toBe(0o600);
    }
    expect(new Set(PRINCIPALS.map((principal) => secretOf(dir, principal))).size).toBe(PRINCIPALS.length);
  });

  it('keeps the secrets it finds on the next start, older lines included', () => {
    ensureCredentials(dir);
    const rotating = `${'n'.repeat(43)}\n${'o'.repeat(43)}\n`;
    writeFileSync(path.join(dir, 'posts'), rotating);
    const before = Object.fromEntries(PRINCIPALS.map((principal) => [principal, secretOf(dir, principal)]));

    const report = ensureCredentials(dir);

    expect(report).toEqual({ created: [], reused: PRINCIPALS });
    expect(Object.fromEntries(PRINCIPALS.map((principal) => [principal, secretOf(dir, principal)]))).toEqual(before);
    expect(secretOf(dir, 'posts')).toBe(rotating);
  });

  it('creates only the files that are missing', () => {
    ensureCredentials(dir);
    rmSync(path.join(dir, 'query'));

    expect(ensureCredentials(dir).created).toEqual(['query']);
  });

  it('narrows the modes of a folder and files that others could read', () => {
    ensureCredentials(dir);
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'admin'), 0o644);

    ensureCredentials(dir);

    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(dir, 'admin'))).toBe(0o600);
  });

  it.each([
    ['an empty file', '', 'is empty'],
    ['blank lines only', '\n\n', 'is empty'],
    ['a short secret', 'too-short\n', 'line 1 must be at least 32 characters'],
  ])('refuses %s, naming the file and the rule', (_case, content, rule) => {
    ensureCredentials(dir);
    writeFileSync(path.join(dir, 'comments'), content);

    expect(() => ensureCredentials(dir)).toThrow(ConfigError);
    expect(() => ensureCredentials(dir)).toThrow(`credential ${path.join(dir, 'comments')}: ${rule}`);
  });
});

describe('prepareDataDir', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'mini-blog-data-')), 'data');
  });
  afterEach(() => rmSync(path.dirname(dataDir), { recursive: true, force: true }));

  it('keeps the credentials under the data folder, and the same ones on the next start', () => {
    const first = prepareDataDir(dataDir);
    const secret = secretOf(first.credentialsDir, 'admin');

    const second = prepareDataDir(dataDir);

    expect(first.credentialsDir).toBe(path.join(dataDir, 'credentials'));
    expect(second.credentials.reused).toEqual(PRINCIPALS);
    expect(secretOf(second.credentialsDir, 'admin')).toBe(secret);
  });

  it('creates the data folder for its owner only (0700): the log holds rejected comments too', () => {
    prepareDataDir(dataDir);

    expect(modeOf(dataDir)).toBe(0o700);
  });

  it('starts fresh: the log removed and a new secret for every principal', () => {
    const { credentialsDir } = prepareDataDir(dataDir);
    const before = PRINCIPALS.map((principal) => secretOf(credentialsDir, principal));
    writeFileSync(path.join(dataDir, 'events.db'), 'a log');

    const fresh = prepareDataDir(dataDir, { fresh: true });

    expect(fresh.credentials.created).toEqual(PRINCIPALS);
    expect(readdirSync(dataDir)).toEqual(['credentials']);
    const after = PRINCIPALS.map((principal) => secretOf(credentialsDir, principal));
    expect(after.filter((secret, index) => secret === before[index])).toEqual([]);
  });
});
