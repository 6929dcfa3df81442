import {
  deliveryFaultsPatchSchema,
  isDeliveryFaulty,
  logFaultsSchema,
  NO_DELIVERY_FAULTS,
  NO_LOG_FAULTS,
  type FaultSwitches,
} from '@mini-blog/common/events';
import { parseBody, type Logger } from '@mini-blog/common/service';
import { Router } from 'express';
import type { EventBus } from '../bus';

/** Every switch that is on. */
export function faultSwitchesOf({ fanOut, committer }: EventBus): FaultSwitches {
  const deliveries = Object.fromEntries(
    fanOut.subscribers().flatMap((loop) => (isDeliveryFaulty(loop.faults) ? [[loop.name, loop.faults]] : [])),
  );
  return { deliveries, log: { slowMs: committer.slowMs } };
}

/**
 * The fault switches of the bus (`FAULT_SWITCHES=on` only; admin only, under `/admin/faults`):
 * a subscriber's deliveries paused, delayed or refused, and the log's commits slowed. Each answer is
 * every switch that is on; each change is logged. A restart of the bus turns them all off.
 */
export function faultRouter(bus: EventBus, logger: Logger): Router {
  const { fanOut, committer } = bus;
  const router = Router();
  const answer = (res: { json(body: unknown): unknown }) => res.json(faultSwitchesOf(bus));

  router.get('/', (_req, res) => answer(res));

  router.patch('/deliveries/:name', (req, res) => {
    const loop = fanOut.subscriber(req.params.name);
    const faults = { ...loop.faults, ...parseBody(req, deliveryFaultsPatchSchema) };
    loop.setFaults(faults);
    logger.warn({ subscriber: loop.name, ...faults }, 'fault switch: deliveries');
    answer(res);
  });

  router.delete('/deliveries/:name', (req, res) => {
    const loop = fanOut.subscriber(req.params.name);
    loop.setFaults(NO_DELIVERY_FAULTS);
    logger.warn({ subscriber: loop.name }, 'fault switch: deliveries back to normal');
    answer(res);
  });

  router.put('/log', (req, res) => {
    committer.slowMs = parseBody(req, logFaultsSchema).slowMs;
    logger.warn({ slowMs: committer.slowMs }, 'fault switch: the log');
    answer(res);
  });

  router.delete('/log', (_req, res) => {
    committer.slowMs = NO_LOG_FAULTS.slowMs;
    logger.warn('fault switch: the log back to normal');
    answer(res);
  });

  /** Every switch off, in one request: the undo of whatever was set. */
  router.delete('/', (_req, res) => {
    for (const loop of fanOut.subscribers()) if (isDeliveryFaulty(loop.faults)) loop.setFaults(NO_DELIVERY_FAULTS);
    committer.slowMs = NO_LOG_FAULTS.slowMs;
    logger.warn('fault switches: all off');
    answer(res);
  });
  return router;
}
