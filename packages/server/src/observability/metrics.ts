import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric Parley exports, on its own registry so that several apps can share a process. */
export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'parley_connections',
    help: 'Open client connections by dialect',
    labelNames: ['dialect'] as const,
    registers: [this.registry],
  });
  readonly callsStarted = new Counter({
    name: 'parley_calls_started_total',
    help: 'Calls invited',
    registers: [this.registry],
  });
  readonly callsEnded = new Counter({
    name: 'parley_calls_ended_total',
    help: 'Calls ended, by end reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly ringSeconds = new Histogram({
    name: 'parley_call_ring_seconds',
    help: 'Time from invite to the first answer (accept or reject) or the end of ringing',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly setupSeconds = new Histogram({
    name: 'parley_call_setup_seconds',
    help: 'Time from invite to the first SDP answer relayed (media negotiation complete)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly callsAnswered = new Counter({
    name: 'parley_calls_answered_total',
    help: 'Calls answered: the denominator of the call success rate (media connected / answered)',
    registers: [this.registry],
  });
  readonly callSeconds = new Histogram({
    name: 'parley_call_duration_seconds',
    help: 'Time from answer to end of answered calls',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [this.registry],
  });
  readonly callsMedia = new Counter({
    name: 'parley_calls_media_total',
    help: 'Answered calls at their end, by what their devices reported of the media (call:media): connected (success rate), failed (error rate), unknown (not reported, e.g. legacy dialects)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly connectSeconds = new Histogram({
    name: 'parley_call_connect_seconds',
    help: 'Time from invite to the media connected, as a party device reported it (call:media)',
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });
  /**
   * Relayed messages by kind as plain numbers, published into `relayed` when it is scraped: a
   * labelled inc() hashes its labels on every call, which showed on the relay path.
   */
  private readonly relayCounts = { offer: 0, answer: 0, ice: 0 };
  private readonly relayPublished = { offer: 0, answer: 0, ice: 0 };
  readonly relayed = new Counter({
    name: 'parley_messages_relayed_total',
    help: 'Signaling messages relayed device to device, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: () => {
      for (const kind of ['offer', 'answer', 'ice'] as const) {
        const d = this.relayCounts[kind] - this.relayPublished[kind];
        if (d > 0) this.relayed.inc({ kind }, d);
        this.relayPublished[kind] = this.relayCounts[kind];
      }
    },
  });
  readonly relayedOffer = { inc: (): void => void this.relayCounts.offer++ };
  readonly relayedAnswer = { inc: (): void => void this.relayCounts.answer++ };
  readonly relayedIce = { inc: (): void => void this.relayCounts.ice++ };
  readonly errors = new Counter({
    name: 'parley_errors_total',
    help: 'Errors sent to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'parley_rate_limited_total',
    help: 'Messages refused by the per-user rate limit',
    registers: [this.registry],
  });
  readonly sfuWorkers = new Gauge({
    name: 'parley_sfu_workers',
    help: 'Live mediasoup worker processes',
    registers: [this.registry],
  });
  readonly sfuWorkerDeaths = new Counter({
    name: 'parley_sfu_worker_deaths_total',
    help: 'mediasoup workers that died (and were replaced)',
    registers: [this.registry],
  });
  readonly meetingRooms = new Gauge({
    name: 'parley_meeting_rooms',
    help: 'Meetings with a live SFU router on this node',
    registers: [this.registry],
  });
  readonly meetingPipes = new Gauge({
    name: 'parley_meeting_pipes',
    help: 'Producers piped from one router of a meeting to another (another worker) on this node',
    registers: [this.registry],
  });
  readonly meetingPeers = new Gauge({
    name: 'parley_meeting_peers',
    help: 'Peers (devices) in meeting media rooms on this node',
    registers: [this.registry],
  });
  readonly upgradesRefused = new Counter({
    name: 'parley_upgrades_refused_total',
    help: 'WebSocket upgrades refused before authentication, by reason (pending cap, timeout)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly upgradesPending = new Gauge({
    name: 'parley_upgrades_pending',
    help: 'WebSocket upgrades authenticating (not yet switched or refused)',
    registers: [this.registry],
  });
  readonly slowConsumers = new Counter({
    name: 'parley_slow_consumers_total',
    help: 'WebSockets closed because their client does not read (overflow: queue past the cap; stalled: backlog not drained in time)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** What the store's health looks like now; set by the composition root. */
  storeHealth: () => { up: boolean; pending: number } = () => ({ up: true, pending: 0 });
  readonly storeUp: Gauge = new Gauge({
    name: 'parley_store_up',
    help: 'Whether the record store takes writes and its files are in place (1) or not (0)',
    registers: [this.registry],
    collect: (): void => this.storeUp.set(this.storeHealth().up ? 1 : 0),
  });
  readonly storePendingWrites: Gauge = new Gauge({
    name: 'parley_store_pending_writes',
    help: 'Record writes waiting for the store (kept and retried while it refuses them)',
    registers: [this.registry],
    collect: (): void => this.storePendingWrites.set(this.storeHealth().pending),
  });
  readonly storeWriteFailures = new Counter({
    name: 'parley_store_write_failures_total',
    help: 'Attempts to write records that the store refused (the writes are kept and retried)',
    registers: [this.registry],
  });
  readonly storeWritesDropped = new Counter({
    name: 'parley_store_writes_dropped_total',
    help: 'Record writes given up: bad data, or the backlog of pending writes was full',
    labelNames: ['why'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'parley_webhook_deliveries_total',
    help: 'Webhook delivery attempts by endpoint and result (success, failure: to be retried, dead: given up)',
    labelNames: ['endpoint', 'result'] as const,
    registers: [this.registry],
  });
  /** Each endpoint's outbox (cluster-wide, read from the store); set by the composition root. */
  webhookDepth: () => Promise<Array<{ endpoint: string; pending: number; oldest: number | null }>> =
    () => Promise.resolve([]);
  /** The last read of `webhookDepth`, shared by the two gauges of one scrape. */
  private depthRead: ReturnType<Metrics['webhookDepth']> | null = null;
  private readDepth(): ReturnType<Metrics['webhookDepth']> {
    this.depthRead ??= this.webhookDepth()
      .catch(() => [])
      .finally(() => setImmediate(() => (this.depthRead = null)));
    return this.depthRead;
  }
  readonly webhookQueueDepth: Gauge = new Gauge({
    name: 'parley_webhook_queue_depth',
    help: 'Webhook events waiting to be delivered, by endpoint (cluster-wide)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
    collect: async (): Promise<void> => {
      for (const d of await this.readDepth())
        this.webhookQueueDepth.labels(d.endpoint).set(d.pending);
    },
  });
  readonly webhookOldestPending: Gauge = new Gauge({
    name: 'parley_webhook_oldest_pending_seconds',
    help: 'Age of the oldest webhook event not yet delivered, by endpoint (0 when none)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
    collect: async (): Promise<void> => {
      const now = Date.now();
      for (const d of await this.readDepth())
        this.webhookOldestPending
          .labels(d.endpoint)
          .set(d.oldest === null ? 0 : Math.max(0, (now - d.oldest) / 1000));
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
