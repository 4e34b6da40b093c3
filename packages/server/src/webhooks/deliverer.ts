import type { Config } from '../config/index.ts';
import type { OutboxEntry, Placement, WebhookOutbox } from '../core/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import { retryDelay } from './backoff.ts';
import type { WebhookEndpoint } from './endpoints.ts';
import { Signer } from './signer.ts';

/** The settings a deliverer follows. */
export type DeliverySettings = Pick<
  Config['webhooks'],
  'retryMinMs' | 'retryMaxMs' | 'giveUpAfterMs' | 'timeoutMs' | 'pollMs' | 'concurrency' | 'leaseMs'
>;

/** What an endpoint's deliverer needs. */
export interface DelivererOptions {
  endpoint: WebhookEndpoint;
  outbox: WebhookOutbox;
  placement: Pick<Placement, 'lease' | 'releaseLease'>;
  settings: DeliverySettings;
  metrics: Pick<Metrics, 'webhookDeliveries'>;
  log: Logger;
  clock?: () => number;
}

/**
 * Sends one endpoint's events from the outbox, at least once each, while this node holds the
 * endpoint's lease (one deliverer per endpoint in the cluster). Each round takes the oldest
 * pending event of each stream that is due and sends them at once; a stream's next event is
 * taken only after its predecessor was delivered or given up on, so each call's and meeting's
 * events arrive in order. A failed attempt is retried with exponential backoff and jitter until
 * `giveUpAfterMs` after the event, then the event is dead-lettered.
 */
export class EndpointDeliverer {
  private readonly signer: Signer;
  private readonly clock: () => number;
  private readonly lease: string;
  private readonly log: Logger;
  private held = false;
  private stopped = false;
  private nudged = false;
  private wake: (() => void) | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Aborts the attempts in flight when the deliverer stops. */
  private readonly stopping = new AbortController();

  constructor(private readonly o: DelivererOptions) {
    this.signer = new Signer(o.endpoint.secret);
    this.clock = o.clock ?? Date.now;
    this.lease = `webhooks:${o.endpoint.name}`;
    this.log = o.log.child({ mod: 'webhooks', endpoint: o.endpoint.name });
  }

  start(): void {
    if (this.running) return;
    this.leaseTimer = setInterval(
      () => void this.renew(),
      Math.max(1, this.o.settings.leaseMs / 3),
    );
    this.running = this.renew().then(() => this.loop());
  }

  /** Events were committed: look now rather than at the next poll. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  /** Stops after the round in flight and gives the lease up. Idempotent. */
  async close(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    this.wake?.();
    await this.running;
    if (this.held) await this.o.placement.releaseLease(this.lease);
    this.held = false;
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const held = await this.o.placement.lease(this.lease, this.o.settings.leaseMs);
    if (held !== this.held)
      this.log.info(
        { event: held ? 'webhook_lease_taken' : 'webhook_lease_lost' },
        held ? 'delivering this endpoint' : 'another node delivers this endpoint',
      );
    this.held = held;
    if (held) this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.nudged = false;
      let worked = false;
      if (this.held) {
        try {
          const due = await this.o.outbox.due(
            this.o.endpoint.name,
            this.clock(),
            this.o.settings.concurrency,
          );
          const taken = await Promise.all(due.map((e) => this.deliver(e)));
          // The round's deliveries recorded at once (one statement, not one per event).
          await this.o.outbox.sent(
            due.filter((_, i) => taken[i]).map((e) => e.id),
            this.clock(),
          );
          worked = due.length > 0;
        } catch (err) {
          this.log.warn({ event: 'webhook_outbox_failed', err }, 'outbox not readable; again soon');
        }
      }
      if (!worked && !this.nudged) await this.sleep(this.o.settings.pollMs);
    }
  }

  /** Waits `ms`, or less if nudged, closed or the lease was just taken. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** One attempt; true when the endpoint took it, else the failure is recorded. */
  private async deliver(e: OutboxEntry): Promise<boolean> {
    const { endpoint, settings, outbox, metrics } = this.o;
    let error: string;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Parley-Webhooks',
          ...this.signer.headers(e.msgId, e.payload, this.clock()),
        },
        body: e.payload,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), this.stopping.signal]),
      });
      // Read (and drop) the answer so that the connection can serve the next attempt.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        metrics.webhookDeliveries.labels(endpoint.name, 'success').inc();
        return true;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      // Stopping: the event stays pending as it was, for the next run or another node.
      if (this.stopped) return false;
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const attempts = e.attempts + 1;
    const now = this.clock();
    if (now - e.createdAt >= settings.giveUpAfterMs) {
      metrics.webhookDeliveries.labels(endpoint.name, 'dead').inc();
      this.log.warn(
        { event: 'webhook_dead', msgId: e.msgId, type: e.type, attempts, error },
        'webhook given up on: dead-lettered (replay it through the admin API)',
      );
      await outbox.dead(e.id, attempts, now, error);
      return false;
    }
    metrics.webhookDeliveries.labels(endpoint.name, 'failure').inc();
    const delay = retryDelay(attempts, settings.retryMinMs, settings.retryMaxMs);
    this.log.debug(
      { event: 'webhook_retry', msgId: e.msgId, attempts, error, delay },
      'delivery failed',
    );
    await outbox.retry(e.id, attempts, now + delay, error);
    return false;
  }
}
