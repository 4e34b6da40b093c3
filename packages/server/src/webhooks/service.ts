import type { DeadLetter, OutboxDepth, Placement, WebhookOutbox } from '../core/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import { EndpointDeliverer, type DeliverySettings } from './deliverer.ts';
import type { WebhookEndpoint } from './endpoints.ts';

/** What the webhooks need. */
export interface WebhooksOptions {
  endpoints: readonly WebhookEndpoint[];
  outbox: WebhookOutbox;
  placement: Pick<Placement, 'lease' | 'leaseHeld' | 'releaseLease'>;
  settings: DeliverySettings & { retainMs: number };
  metrics: Pick<Metrics, 'webhookDeliveries'>;
  log: Logger;
}

/** How often delivered events older than `retainMs` are removed from the outbox. */
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The webhooks of a node: a deliverer per configured endpoint (each delivering while this node
 * holds its lease), and the dead letters for the admin API.
 */
export class Webhooks {
  private readonly deliverers: Map<string, EndpointDeliverer>;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: WebhooksOptions) {
    this.deliverers = new Map(
      o.endpoints.map((endpoint) => [endpoint.name, new EndpointDeliverer({ ...o, endpoint })]),
    );
  }

  /** The names of the configured endpoints. */
  get endpoints(): string[] {
    return [...this.deliverers.keys()];
  }

  start(): void {
    for (const d of this.deliverers.values()) d.start();
    if (this.deliverers.size === 0) return;
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** Events were committed here: the deliverers look now. */
  nudge(): void {
    for (const d of this.deliverers.values()) d.nudge();
  }

  /** Dead letters, oldest first, `limit` after `afterId`. */
  deadLetters(q: { endpoint?: string; afterId?: number; limit: number }): Promise<DeadLetter[]> {
    return this.o.outbox.deadLetters(q);
  }

  /** Sends dead letters again (the given ones, or all, of one endpoint or all). */
  async replay(q: { endpoint?: string; ids?: readonly number[] }): Promise<number> {
    const n = await this.o.outbox.replay({ ...q, now: Date.now() });
    if (n > 0) {
      this.o.log.info({ event: 'webhook_replay', ...q, count: n }, 'dead letters replayed');
      this.nudge();
    }
    return n;
  }

  /** Each endpoint's pending events (cluster-wide). */
  depth(): Promise<Array<OutboxDepth & { endpoint: string }>> {
    return Promise.all(
      this.endpoints.map(async (endpoint) => ({
        endpoint,
        ...(await this.o.outbox.depth(endpoint)),
      })),
    );
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await Promise.all([...this.deliverers.values()].map((d) => d.close()));
  }

  private async prune(): Promise<void> {
    try {
      await this.o.outbox.prune(Date.now() - this.o.settings.retainMs);
    } catch (err) {
      this.o.log.warn({ event: 'webhook_prune_failed', err }, 'delivered events not pruned');
    }
  }
}
