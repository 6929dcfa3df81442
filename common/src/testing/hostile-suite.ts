import type { RequestListener } from 'node:http';
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_BODY_LIMIT } from '../service/http-app';
import {
  ENVELOPE_SPECS,
  expectRefused,
  hostileQuery,
  hostileRequest,
  sendRaw,
  type BodySpec,
  type RawAnswer,
} from './hostile-input';

/**
 * The hostile-input tests every service's routes get, as a table: each service's test file says
 * how to start the service and what must stay as it was, and this file writes the properties.
 */

/** A service started for one test: its app, and whatever its checks read (bus, projection, consumer). */
interface Started {
  readonly app: RequestListener;
}

/** A route with a JSON body: every hostile body is refused with a 4xx and a message, the service left as it was. */
export interface HostileBodyRoute<S extends Started> {
  /** The name of the test. */
  readonly title: string;
  /** Where the body is POSTed. */
  readonly path: string;
  /** What the route accepts, from which each hostile body is built invalid. */
  readonly specs: readonly BodySpec[];
  /** The route takes a batch (a JSON array of such objects) too. */
  readonly acceptsArrays?: boolean;
  /** Generated requests tried; the table's `runs` unless set. */
  readonly runs?: number;
  /** What must hold after each refused request: nothing stored, nothing applied. */
  readonly unchanged: (service: S) => void;
  /**
   * A reading taken before the first request, and the check of it after the last (the reads as they
   * were, the service still answering).
   */
  readonly around?: (service: S) => Promise<() => Promise<void>>;
}

/** Routes read with hostile paths, methods and query strings: each answer as `expectAnswer` says. */
export interface HostileReads {
  /** The name of the test. */
  readonly title: string;
  /** The paths tried: a list, or a generator (a hostile id in a path). */
  readonly paths: readonly string[] | fc.Arbitrary<string>;
  /** The methods tried; GET alone unless set. */
  readonly methods?: readonly string[];
  /** The query keys the routes read (hostile query strings use them and pollution keys); no query string unless set. */
  readonly queryKeys?: readonly string[];
  /** Generated requests tried; the table's `runs` unless set. */
  readonly runs?: number;
  /** What every answer must be; by default never a 5xx, and a message with a 4xx. */
  readonly expectAnswer?: (res: RawAnswer) => void;
}

export interface HostileInputTable<S extends Started> {
  /** A fresh service, for each test. */
  readonly setup: () => Promise<S>;
  /** Generated requests tried by each property, unless an entry sets its own. */
  readonly runs: number;
  /** The service's `POST /events`: an invalid delivery (any event type, alone or in a batch) is refused. */
  readonly deliveries?: Omit<HostileBodyRoute<S>, 'title' | 'path' | 'specs' | 'acceptsArrays'> & {
    readonly title?: string;
  };
  /** The routes that take a JSON body from a client. */
  readonly bodies?: readonly HostileBodyRoute<S>[];
  readonly reads?: readonly HostileReads[];
}

/** Never a 5xx; a 4xx says what is wrong. */
export function expectNoServerError(res: RawAnswer): void {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
}

/** One test (`it`) for each entry of the table: call it inside the service's `describe`. */
export function hostileInputTests<S extends Started>({
  setup,
  runs,
  deliveries,
  bodies = [],
  reads = [],
}: HostileInputTable<S>): void {
  const routes: HostileBodyRoute<S>[] = [
    ...bodies,
    ...(deliveries
      ? [
          {
            title: 'POST /events: an invalid delivery is refused with a 4xx and a message, nothing applied',
            ...deliveries,
            path: '/events',
            specs: ENVELOPE_SPECS,
            acceptsArrays: true,
          },
        ]
      : []),
  ];
  for (const route of routes)
    it(route.title, async () => {
      const service = await setup();
      const after = await route.around?.(service);

      await fc.assert(
        fc.asyncProperty(
          hostileRequest({
            specs: route.specs,
            bodyLimitBytes: DEFAULT_BODY_LIMIT,
            acceptsArrays: route.acceptsArrays ?? false,
          }),
          async (hostile) => {
            expectRefused(await sendRaw(service.app, 'POST', route.path, hostile));
            route.unchanged(service);
          },
        ),
        { numRuns: route.runs ?? runs },
      );
      await after?.();
    });

  for (const read of reads)
    it(read.title, async () => {
      const { app } = await setup();
      const paths = Array.isArray(read.paths) ? fc.constantFrom(...read.paths) : (read.paths as fc.Arbitrary<string>);
      const queries = read.queryKeys ? hostileQuery(read.queryKeys) : fc.constant('');

      await fc.assert(
        fc.asyncProperty(paths, fc.constantFrom(...(read.methods ?? ['GET'])), queries, async (path, method, query) =>
          (read.expectAnswer ?? expectNoServerError)(await sendRaw(app, method, `${path}${query}`)),
        ),
        { numRuns: read.runs ?? runs },
      );
    });
}
