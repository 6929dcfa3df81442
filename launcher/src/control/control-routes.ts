import { ADMIN, type Principals } from '@mini-blog/common/auth';
import {
  deliveryFaultsPatchSchema,
  logFaultsSchema,
  type ServiceView,
  type SupervisorView,
} from '@mini-blog/common/events';
import { allowOnly, AppError, authenticate, parseBody, parseOrThrow, type Logger } from '@mini-blog/common/service';
import express, { Router } from 'express';
import { z } from 'zod';
import type { ServiceProcess } from '../supervisor';
import type { Switchboard } from './switchboard';

/** Where the launcher's own routes are, on its gateway (the ingress has no launcher, and no such path). */
export const CONTROL_PREFIX = '/launcher';

/** A process the launcher supervises, and the path that says whether it is ready. */
export interface Supervised {
  readonly process: ServiceProcess;
  /** `/readyz` for a service, `/healthz` for a NATS node (JetStream included). */
  readonly probe: string;
}

export interface ControlOptions {
  readonly transport: SupervisorView['transport'];
  /** Every process, by name: the registry's services, then the NATS nodes. */
  readonly processes: Readonly<Record<string, Supervised>>;
  /** The fault switches, when the operator turned them on (`--faults`); without it, none of their routes exists. */
  readonly switches?: { readonly board: Switchboard; readonly principals: Principals };
  readonly logger: Logger;
}

/** How long one look at the processes is reused: a panel polls it, and each look probes every process. */
const VIEW_TTL_MS = 500;
const PROBE_TIMEOUT_MS = 1000;

const actionSchema = z.object({
  name: z.string(),
  action: z.enum(['stop', 'start', 'restart'], { error: () => 'must be stop, start or restart' }),
});

async function probe({ process, probe: path }: Supervised): Promise<boolean> {
  if (!process.running) return false;
  try {
    const res = await fetch(`${process.url}${path}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The launcher's routes on its gateway: `GET /launcher/services`, the supervisor's view of every
 * process (public and read-only, as the bus's views are: no secret, no payload, no address), and,
 * only when the operator turned the switches on, `/launcher/faults/...`, for the admin alone: stop,
 * start and restart a process; pause, delay or fail a subscriber's deliveries; slow the log; all off.
 */
export function controlRouter({ transport, processes, switches, logger }: ControlOptions): Router {
  let cached: { at: number; view: Promise<SupervisorView> } | undefined;
  const look = async (): Promise<SupervisorView> => {
    const services: ServiceView[] = await Promise.all(
      Object.values(processes).map(async (supervised) => ({
        ...supervised.process.status,
        ready: await probe(supervised),
      })),
    );
    const faults = switches ? await switches.board.read().catch(() => undefined) : undefined;
    return { transport, switches: switches !== undefined, services, ...(faults ? { faults } : {}) };
  };
  const view = () => {
    if (!cached || Date.now() - cached.at > VIEW_TTL_MS) cached = { at: Date.now(), view: look() };
    return cached.view;
  };
  const fresh = () => {
    cached = undefined;
    return view();
  };
  /** A switch moved: the next look must show it. */
  const changed = <T>(answer: T): T => {
    cached = undefined;
    return answer;
  };

  const router = Router();
  router.get(`${CONTROL_PREFIX}/services`, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await view());
  });
  if (!switches) return router;

  const { board, principals } = switches;
  const faults = Router();
  faults.use(
    authenticate(principals),
    allowOnly((principal) => principal === ADMIN, 'use the fault switches'),
    express.json({ limit: '10kb' }),
  );
  faults.get('/', async (_req, res) => {
    res.json(await board.read());
  });
  faults.post('/services/:name/:action', async (req, res) => {
    const { name, action } = parseOrThrow(actionSchema, req.params, 'path');
    const supervised = processes[name];
    if (!supervised)
      throw new AppError(404, `service: must be one of ${Object.keys(processes).join(', ')}, not ${name}`);
    logger.warn({ service: name }, `fault switch: ${action}`);
    if (action === 'stop') await supervised.process.stop();
    else if (action === 'start') supervised.process.start();
    else await supervised.process.restart();
    res.json(await fresh());
  });
  faults.patch('/deliveries/:name', async (req, res) => {
    res.json(changed(await board.setDeliveries(req.params.name, parseBody(req, deliveryFaultsPatchSchema))));
  });
  faults.delete('/deliveries/:name', async (req, res) => {
    res.json(changed(await board.clearDeliveries(req.params.name)));
  });
  faults.put('/log', async (req, res) => {
    res.json(changed(await board.setLog(parseBody(req, logFaultsSchema))));
  });
  faults.delete('/log', async (_req, res) => {
    res.json(changed(await board.clearLog()));
  });
  /** The one undo: every stopped process started, every switch off. */
  faults.delete('/', async (_req, res) => {
    for (const [name, { process }] of Object.entries(processes)) {
      if (process.status.state !== 'stopped') continue;
      logger.warn({ service: name }, 'fault switches off: starting it again');
      process.start();
    }
    // A process just started has no switch on; the others have theirs turned off.
    await board.clearAll().catch(() => undefined);
    res.json(await fresh());
  });
  router.use(`${CONTROL_PREFIX}/faults`, faults);
  return router;
}
