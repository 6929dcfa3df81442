import { ADMIN, Principals, readCredential, type Secrets } from '@mini-blog/common/auth';
import type { Logger } from '@mini-blog/common/service';
import type { Router } from 'express';
import type { RunningNats } from '../nats';
import type { ServiceProcess } from '../supervisor';
import { controlRouter, type Supervised } from './control-routes';
import { natsAsk } from './nats-ask';
import { busSwitchboard, natsSwitchboard, type Switchboard } from './switchboard';

export { CONTROL_PREFIX } from './control-routes';

export interface ControlSetup {
  readonly services: Readonly<Record<string, ServiceProcess>>;
  readonly nats: RunningNats | undefined;
  /** The bus's API, where its switches are (the HTTP transport). */
  readonly busUrl: string;
  readonly credentialsDir: string;
  /** Every principal with a credential: a token of any of them is known (403), any other is not (401). */
  readonly principals: readonly string[];
  /** The operator turned the fault switches on (`npm start -- --faults`). */
  readonly faultSwitches: boolean;
  readonly logger: Logger;
}

/** The launcher's routes on its gateway (see `controlRouter`), and what to close when it stops. */
export function createControl(setup: ControlSetup): { router: Router; close(): Promise<void> } {
  const { services, nats, credentialsDir, logger } = setup;
  const processes: Record<string, Supervised> = {};
  for (const [name, process] of Object.entries(services)) processes[name] = { process, probe: '/readyz' };
  for (const node of nats?.nodes ?? []) processes[node.spec.name] = { process: node, probe: '/healthz' };

  let board: Switchboard | undefined;
  if (setup.faultSwitches) {
    const admin = readCredential(credentialsDir, ADMIN)[0]!;
    if (nats) {
      const { ask, close } = natsAsk(nats.url.split(','), admin);
      board = natsSwitchboard(ask, close);
    } else {
      board = busSwitchboard(setup.busUrl, admin);
    }
  }
  const principals = new Principals(
    new Map(setup.principals.map((name): [string, Secrets] => [name, readCredential(credentialsDir, name) as Secrets])),
  );
  return {
    router: controlRouter({
      transport: nats ? 'jetstream' : 'http',
      processes,
      switches: board && { board, principals },
      logger,
    }),
    close: async () => board?.close(),
  };
}
