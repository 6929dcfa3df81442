import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAdminVerifier, serviceAdminVerifier } from '@mini-blog/common/auth';
import { SUBSCRIBER_NAMES } from '@mini-blog/common/registry';
import { inMemoryProjection } from '@mini-blog/common/projection';
import { createEventService, listen, silentLogger, type EventServiceParts } from '@mini-blog/common/service';
import { MemoryBus } from '@mini-blog/common/testing';
import { publishPosts, runBlogctl } from './support/run';

const ADMIN_SECRET = 'the-admin-secret-of-this-test-run-000000000';

let dataDir: string;
let service: EventServiceParts<void>;
let server: Server;
let serviceUrl: string;

beforeEach(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'blogctl-rebuild-'));
  mkdirSync(path.join(dataDir, 'credentials'), { mode: 0o700 });
  writeFileSync(path.join(dataDir, 'credentials', 'admin'), `${ADMIN_SECRET}\n`, { mode: 0o600 });
  const bus = new MemoryBus();
  await publishPosts(bus, 50);
  // A real service's admin routes, holding only the digest of the admin's token for it.
  service = createEventService({
    name: 'posts',
    bus,
    logger: silentLogger(),
    projection: inMemoryProjection<'posts'>(() => undefined),
    admin: { verifiers: parseAdminVerifier(serviceAdminVerifier([ADMIN_SECRET], 'posts')) },
  });
  await service.consumer.start();
  server = createServer(service.app);
  serviceUrl = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const blogctl = (args: string[]) =>
  runBlogctl(['--url', 'http://127.0.0.1:1', '--data-dir', dataDir, '--service', `posts=${serviceUrl}`, ...args]);

describe('blogctl rebuild', () => {
  it("rebuilds the service's projection with the admin's token for it, showing progress until the swap", async () => {
    const result = await blogctl(['rebuild', 'posts']);

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^posts: (running|swapped) \d+\/\d+ events/m);
    expect(result.stdout).toMatch(/posts: the rebuilt projection is live\n$/);
    expect(service.rebuilder.status).toMatchObject({ state: 'swapped', position: 50 });
  });

  it('says so when the service refuses the credential', async () => {
    writeFileSync(path.join(dataDir, 'credentials', 'admin'), 'another-admin-secret-that-is-long-enough-00\n');

    const result = await blogctl(['rebuild', 'posts']);

    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'blogctl: posts refused the admin credential (401: authorization: the token is not the admin token for this service)\n',
    );
    expect(service.rebuilder.status.state).toBe('idle');
  });

  it('refuses a name that is not a service with a projection, with exit status 2', async () => {
    const result = await blogctl(['rebuild', 'client']);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`must be one of ${[...SUBSCRIBER_NAMES].sort().join(', ')}, not client`);
  });
});
