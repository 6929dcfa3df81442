import { getJson } from './http';

export interface Subscription {
  readonly name: string;
  readonly cursor: number;
  readonly head: number;
  readonly lag: number;
  readonly attempts: number;
  readonly lastError: string | null;
}

export async function subscriptions(bus: string): Promise<Map<string, Subscription>> {
  const list = await getJson<Subscription[]>(bus, '/subscriptions');
  return new Map(list.map((subscription) => [subscription.name, subscription]));
}

/**
 * Reads `GET /subscriptions` every `intervalMs` until stopped and keeps each subscriber's highest
 * lag: what a dashboard would have shown during a fault.
 */
export class LagSampler {
  readonly maxLag = new Map<string, number>();
  samples = 0;
  private stopped = false;
  private readonly running: Promise<void>;

  constructor(
    private readonly bus: string,
    private readonly intervalMs = 100,
  ) {
    this.running = this.run();
  }

  async stop(): Promise<Record<string, number>> {
    this.stopped = true;
    await this.running;
    return Object.fromEntries(this.maxLag);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        for (const [name, { lag }] of await subscriptions(this.bus))
          this.maxLag.set(name, Math.max(this.maxLag.get(name) ?? 0, lag));
        this.samples += 1;
      } catch {
        // The bus may be restarting: that sample is missing, the next one counts.
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}
