import type { Redis } from 'ioredis';
import type { Config } from '../config/index.ts';
import { RateLimiter, type RateCounter } from '../gateway/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Keys } from './redis.ts';

/**
 * The per-user rate limit counted across the cluster, without Redis on the hot path.
 *
 * Each message is checked against this node's token bucket, as on a single node, plus a flag
 * this node holds per user. Every `rateSyncMs`, the counts of the messages each user sent
 * here are added to a cluster-wide fixed-window counter (one INCRBY per user active here in
 * the window, a GET for those quiet since the last sync, in one pipeline); a user whose count
 * across all nodes passes what a token bucket allows in a window (burst + rate × window) is
 * refused on this node until the window ends. A user connected to one node never trips it
 * (the local bucket is stricter: the allowance also covers the messages of the sync interval
 * that a late sync counts in the next window); one that spreads devices over nodes gets the
 * single budget back, give or take a sync interval and the fixed window's edge.
 * Without Redis the local buckets still hold.
 */
export class SharedRateLimiter implements RateCounter {
  private readonly local: RateLimiter;
  private sent = new Map<string, number>();
  /** user → the window in which it last sent here. */
  private readonly active = new Map<string, number>();
  /** user → end of the window (epoch ms) until which it is refused. */
  private readonly blocked = new Map<string, number>();
  private readonly windowMs: number;
  private readonly allowance: number;
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly key: Keys,
    limits: Pick<Config['limits'], 'ratePerSec' | 'rateBurst'>,
    syncMs: number,
    log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.local = new RateLimiter(limits.ratePerSec, limits.rateBurst, clock);
    // A window long enough for a full burst to refill, at least a second.
    this.windowMs = Math.max(1000, Math.ceil((limits.rateBurst / limits.ratePerSec) * 1000));
    this.allowance = limits.rateBurst + (limits.ratePerSec * (this.windowMs + syncMs)) / 1000;
    this.log = log.child({ mod: 'rate' });
    this.timer = setInterval(() => void this.sync(), syncMs);
    this.timer.unref();
  }

  attach(userId: string): void {
    this.local.attach(userId);
  }

  detach(userId: string): void {
    this.local.detach(userId);
  }

  take(userId: string): boolean {
    const until = this.blocked.get(userId);
    if (until !== undefined) {
      if (this.clock() < until) return false;
      this.blocked.delete(userId);
    }
    if (!this.local.take(userId)) return false;
    this.sent.set(userId, (this.sent.get(userId) ?? 0) + 1);
    return true;
  }

  /** Adds this node's counts to the cluster's and blocks users over the allowance. */
  async sync(): Promise<void> {
    const now = this.clock();
    for (const [userId, until] of this.blocked) if (until <= now) this.blocked.delete(userId);
    const window = Math.floor(now / this.windowMs);
    for (const [userId, w] of this.active) if (w !== window) this.active.delete(userId);
    const batch = this.sent;
    this.sent = new Map();
    for (const userId of batch.keys()) this.active.set(userId, window);
    if (this.active.size === 0) return;
    // Users who sent here this window: add what they sent since the last sync (or just read,
    // for those quiet since), so that their use elsewhere counts here too.
    const users = [...this.active.keys()];
    const p = this.redis.pipeline();
    for (const userId of users) {
      const k = this.key.rate(userId, window);
      const n = batch.get(userId);
      if (n) p.incrby(k, n).pexpire(k, 2 * this.windowMs);
      else p.get(k);
    }
    try {
      const results = (await p.exec()) ?? [];
      let i = 0;
      for (const userId of users) {
        const total = Number(results[i]?.[1] ?? 0);
        i += batch.has(userId) ? 2 : 1;
        if (total > this.allowance) this.blocked.set(userId, (window + 1) * this.windowMs);
      }
    } catch (err) {
      this.log.debug({ event: 'rate_sync_failed', err: (err as Error).message }, 'rate sync');
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
