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
  placement: Pick<Placement, 'lease' | 'leaseHeld' | 'releaseLease'>;
  settings: DeliverySettings;
  metrics: Pick<Metrics, 'webhookDeliveries'>;
  log: Logger;
  clock?: () => number;
}

/** This node's tenure of an endpoint's lease. */
interface Tenure {
  /** Its fencing token. */
  token: number;
  /**
   * Until when (monotonic ms) it surely lasts: the renewal that granted it was asked at
   * `until - leaseMs`, so the lease cannot lapse earlier, however long this process stalls.
   */
  until: number;
}

/** What became of one attempt. */
type Outcome = { sent: true } | { sent: false; error: string } | 'fenced';

/**
 * Sends one endpoint's events from the outbox, at least once each, while this node holds the
 * endpoint's lease (one deliverer per endpoint in the cluster). Each round takes the oldest
 * pending event of each stream that is due and sends them at once; a stream's next event is
 * taken only after its predecessor was delivered or given up on, so each call's and meeting's
 * events arrive in order. A failed attempt is retried with exponential backoff and jitter until
 * `giveUpAfterMs` after the event, then the event is dead-lettered.
 *
 * The lease is fenced: a holder that stalled past it (its event loop blocked, the process
 * stopped) may wake with a round read before its successor sent those events and more. So each
 * attempt starts only while the tenure surely lasts (a local, monotonic deadline checked just
 * before the request leaves), and a round's results are recorded only if its tenure's token is
 * still the lease's; otherwise they are dropped and the successor sends the events again.
 */
export class EndpointDeliverer {
  private readonly signer: Signer;
  private readonly clock: () => number;
  private readonly lease: string;
  private readonly log: Logger;
  private tenure: Tenure | null = null;
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
    const tenure = this.tenure;
    this.tenure = null;
    if (tenure) await this.o.placement.releaseLease(this.lease, tenure.token);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const { leaseMs } = this.o.settings;
    const asked = performance.now();
    const token = await this.o.placement.lease(this.lease, leaseMs);
    if (this.stopped) return;
    const was = this.tenure?.token ?? null;
    this.tenure = token === null ? null : { token, until: asked + leaseMs };
    if (token !== was)
      this.log.info(
        { event: token !== null ? 'webhook_lease_taken' : 'webhook_lease_lost', token },
        token !== null ? 'delivering this endpoint' : 'another node delivers this endpoint',
      );
    if (token !== null) this.wake?.();
  }

  /** The tenure while it surely lasts, else null. */
  private current(): Tenure | null {
    const t = this.tenure;
    return t && performance.now() < t.until ? t : null;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.nudged = false;
      let worked = false;
      const tenure = this.current();
      if (tenure) {
        try {
          const due = await this.o.outbox.due(
            this.o.endpoint.name,
            this.clock(),
            this.o.settings.concurrency,
          );
          const outcomes = await Promise.all(due.map((e) => this.attempt(e, tenure.token)));
          worked = (await this.record(due, outcomes, tenure.token)) && due.length > 0;
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

  /** One attempt, if the tenure of `token` surely lasts as it leaves. */
  private async attempt(e: OutboxEntry, token: number): Promise<Outcome> {
    const { endpoint, settings, metrics } = this.o;
    // Nothing is awaited between this check and the request's leaving.
    if (this.current()?.token !== token) return 'fenced';
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
        return { sent: true };
      }
      return { sent: false, error: `HTTP ${res.status}` };
    } catch (err) {
      // Stopping: the event stays pending as it was, for the next run or another node.
      if (this.stopped) return 'fenced';
      return {
        sent: false,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      };
    }
  }

  /**
   * Records a round's outcomes, if its tenure still holds the lease; returns whether it did.
   * The round's deliveries are recorded at once (one statement, not one per event).
   */
  private async record(
    due: readonly OutboxEntry[],
    outcomes: readonly Outcome[],
    token: number,
  ): Promise<boolean> {
    if (due.length === 0) return true;
    const done = outcomes.filter((o) => o !== 'fenced');
    const held =
      done.length === outcomes.length &&
      this.current()?.token === token &&
      (await this.o.placement.leaseHeld(this.lease, token));
    if (!held) {
      if (!this.stopped)
        this.log.warn(
          { event: 'webhook_lease_fenced', token, events: due.length },
          "the lease's tenure ended under a round: its events are left to the next holder",
        );
      return false;
    }
    await this.o.outbox.sent(
      due.filter((_, i) => done[i]!.sent).map((e) => e.id),
      this.clock(),
    );
    for (const [i, o] of done.entries()) if (!o.sent) await this.failed(due[i]!, o.error);
    return true;
  }

  /** A failed attempt: retried after a backoff, or dead-lettered once `giveUpAfterMs` passed. */
  private async failed(e: OutboxEntry, error: string): Promise<void> {
    const { endpoint, settings, outbox, metrics } = this.o;
    const attempts = e.attempts + 1;
    const now = this.clock();
    if (now - e.createdAt >= settings.giveUpAfterMs) {
      metrics.webhookDeliveries.labels(endpoint.name, 'dead').inc();
      this.log.warn(
        { event: 'webhook_dead', msgId: e.msgId, type: e.type, attempts, error },
        'webhook given up on: dead-lettered (replay it through the admin API)',
      );
      await outbox.dead(e.id, attempts, now, error);
      return;
    }
    metrics.webhookDeliveries.labels(endpoint.name, 'failure').inc();
    const delay = retryDelay(attempts, settings.retryMinMs, settings.retryMaxMs);
    this.log.debug(
      { event: 'webhook_retry', msgId: e.msgId, attempts, error, delay },
      'delivery failed',
    );
    await outbox.retry(e.id, attempts, now + delay, error);
  }
}
