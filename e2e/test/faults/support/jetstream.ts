import { once } from 'node:events';
import type { Server } from 'node:http';
import { readCredential } from '@mini-blog/common/auth';
import type { Envelope } from '@mini-blog/common/events';
import { SUBSCRIBER_NAMES, type SubscriberName } from '@mini-blog/common/registry';
import { createJetStreamTransport, createLink, STREAM_NAME } from '@mini-blog/common/transport/jetstream';
import {
  createGateway,
  freePort,
  ingressRouter,
  ServiceProcess,
  waitForReady,
  type RunningSystem,
} from '@mini-blog/launcher';
import pino from 'pino';
import type { FaultSystem } from './fault-system';

/** The services that run as several replicas on JetStream. */
export const REPLICATED = SUBSCRIBER_NAMES;
export type ReplicatedName = SubscriberName;

/** The cluster as the admin principal sees it. */
function adminOptions(fault: FaultSystem) {
  const { nats } = fault.system;
  if (!nats) throw new Error('the system does not run on JetStream');
  const password = readCredential(fault.system.credentialsDir, 'admin')[0]!;
  return { servers: nats.url.split(','), password, streamReplicas: nats.nodes.length };
}

/** Every event in the stream, in pages, as the fault suite's checks read the bus's log. */
export function jetstreamLog(fault: FaultSystem): () => Promise<Envelope[]> {
  return async () => {
    const admin = createJetStreamTransport({
      name: 'admin',
      replica: 'test',
      logger: pino({ level: 'silent' }),
      ...adminOptions(fault),
    });
    try {
      const events: Envelope[] = [];
      for (let after = 0; ;) {
        const page = await admin.readLog({ after, limit: 5000 });
        events.push(...page.events);
        if (page.next >= page.head) return events;
        after = page.next;
      }
    } finally {
      await admin.close();
    }
  };
}

/** The index of the node that leads the stream now (`nats-<index>`). */
export async function streamLeader(fault: FaultSystem): Promise<number> {
  const link = createLink({ user: 'admin', connectionName: 'test', timeoutMs: 5000, ...adminOptions(fault) });
  try {
    const info = await (await link.get()).manager.streams.info(STREAM_NAME);
    const leader = info.cluster?.leader ?? '';
    const index = Number(/^nats-(\d+)$/.exec(leader)?.[1]);
    if (!Number.isInteger(index)) throw new Error(`no stream leader (${leader || 'none'})`);
    return index;
  } finally {
    await link.close();
  }
}

export interface Replicas {
  /** A gateway that spreads each replicated service's requests over its running replicas. */
  readonly gateway: string;
  readonly replicas: Readonly<Record<ReplicatedName, readonly ServiceProcess[]>>;
  stop(): Promise<void>;
}

/**
 * A second replica of every event-driven service beside the system's own (its own consumer, named
 * by REPLICA_ID), and a gateway in front of both that sends each request to a running replica in
 * turn, as a Kubernetes Service sends it to a ready pod.
 */
export async function startSecondReplicas(fault: FaultSystem, timeoutMs = 30_000): Promise<Replicas> {
  const { system } = fault;
  const replicas = {} as Record<ReplicatedName, ServiceProcess[]>;
  for (const name of REPLICATED) {
    const first = system.services[name];
    const port = await freePort();
    const second = new ServiceProcess(
      { ...first.spec, name: `${name}-2`, port, env: { ...first.spec.env, REPLICA_ID: 'second' } },
      fault.logSink,
    );
    second.start();
    replicas[name] = [first, second];
  }
  let gateway: Server | undefined;
  const stop = async () => {
    gateway?.closeAllConnections();
    gateway?.close();
    await Promise.all(REPLICATED.map((name) => replicas[name][1]!.stop()));
  };
  try {
    await Promise.all(REPLICATED.map((name) => waitForReady(replicas[name][1]!, timeoutMs)));
    gateway = createGateway({ routeFor: ingressRouter(), targets: targetsOf(system, replicas) }).listen(0, '127.0.0.1');
    await once(gateway, 'listening');
  } catch (err) {
    await stop();
    throw err;
  }
  const address = gateway.address();
  return { gateway: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, replicas, stop };
}

function targetsOf(
  system: RunningSystem,
  replicas: Record<ReplicatedName, ServiceProcess[]>,
): Record<string, string | (() => string)> {
  const targets: Record<string, string | (() => string)> = {};
  for (const [name, service] of Object.entries(system.services)) targets[name] = service.url;
  for (const name of REPLICATED) {
    let turn = 0;
    targets[name] = () => {
      const running = replicas[name].filter((replica) => replica.running);
      turn += 1;
      return (running[turn % Math.max(running.length, 1)] ?? replicas[name][0]!).url;
    };
  }
  return targets;
}
