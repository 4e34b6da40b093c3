import type { Redis } from 'ioredis';
import {
  RATE_CLASSES,
  RateLimiter,
  type RateBudget,
  type RateClass,
  type RateCounter,
} from '../gateway/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Keys } from './redis.ts';

/** One class's cluster-wide count: its window, its allowance and what this node saw in it. */
interface ClassWindow {
  readonly cls: RateClass;
  readonly windowMs: number;
  readonly allowance: number;
  sent: Map<string, number>;
  /** user → the window in which it last sent here. */
  readonly active: Map<string, number>;
  /** user → end of the window (epoch ms) until which it is refused. */
  readonly blocked: Map<string, number>;
}

/**
 * The per-user rate limits counted across the cluster, one per message class, without Redis on
 * the hot path.
 *
 * Each message is checked against this node's token bucket for its class, as on a single node,
 * plus a flag this node holds per user and class. Every `rateSyncMs`, the counts of the
 * messages each user sent here are added to a cluster-wide fixed-window counter per class (one
 * INCRBY per user and class active here in the window, a GET for those quiet since the last
 * sync, all in one pipeline); a user whose count across all nodes passes what a token bucket
 * allows in a window (burst + rate × window) is refused that class on this node until the
 * window ends. A user connected to one node never trips it (the local bucket is stricter: the
 * allowance also covers the messages of the sync interval that a late sync counts in the next
 * window); one that spreads devices over nodes gets the single budget back, give or take a sync
 * interval and the fixed window's edge. Without Redis the local buckets still hold.
 */
export class SharedRateLimiter implements RateCounter {
  private readonly local: RateLimiter;
  private readonly classes: Record<RateClass, ClassWindow>;
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly key: Keys,
    budgets: Record<RateClass, RateBudget>,
    syncMs: number,
    log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.local = new RateLimiter(budgets, clock);
    const windowOf = (cls: RateClass): ClassWindow => {
      const { perSec, burst } = budgets[cls];
      // A window long enough for a full burst to refill, at least a second.
      const windowMs = Math.max(1000, Math.ceil((burst / perSec) * 1000));
      const allowance = burst + (perSec * (windowMs + syncMs)) / 1000;
      return { cls, windowMs, allowance, sent: new Map(), active: new Map(), blocked: new Map() };
    };
    this.classes = {
      setup: windowOf('setup'),
      signal: windowOf('signal'),
      meeting: windowOf('meeting'),
    };
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

  take(userId: string, cls: RateClass): boolean {
    const c = this.classes[cls];
    const until = c.blocked.get(userId);
    if (until !== undefined) {
      if (this.clock() < until) return false;
      c.blocked.delete(userId);
    }
    if (!this.local.take(userId, cls)) return false;
    c.sent.set(userId, (c.sent.get(userId) ?? 0) + 1);
    return true;
  }

  /** Adds this node's counts to the cluster's and blocks users over a class's allowance. */
  async sync(): Promise<void> {
    const now = this.clock();
    const p = this.redis.pipeline();
    /** What each pipelined reply is for, in order (an INCRBY is followed by its PEXPIRE). */
    const asked: { c: ClassWindow; userId: string; window: number; replies: number }[] = [];
    for (const cls of RATE_CLASSES) {
      const c = this.classes[cls];
      for (const [userId, until] of c.blocked) if (until <= now) c.blocked.delete(userId);
      const window = Math.floor(now / c.windowMs);
      for (const [userId, w] of c.active) if (w !== window) c.active.delete(userId);
      const batch = c.sent;
      c.sent = new Map();
      for (const userId of batch.keys()) c.active.set(userId, window);
      // Users who sent here this window: add what they sent since the last sync (or just read,
      // for those quiet since), so that their use elsewhere counts here too.
      for (const userId of c.active.keys()) {
        const k = this.key.rate(userId, window, cls);
        const n = batch.get(userId);
        if (n) p.incrby(k, n).pexpire(k, 2 * c.windowMs);
        else p.get(k);
        asked.push({ c, userId, window, replies: n ? 2 : 1 });
      }
    }
    if (asked.length === 0) return;
    try {
      const results = (await p.exec()) ?? [];
      let i = 0;
      for (const { c, userId, window, replies } of asked) {
        const total = Number(results[i]?.[1] ?? 0);
        i += replies;
        if (total > c.allowance) c.blocked.set(userId, (window + 1) * c.windowMs);
      }
    } catch (err) {
      this.log.debug({ event: 'rate_sync_failed', err: (err as Error).message }, 'rate sync');
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
