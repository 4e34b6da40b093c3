/** The per-user message budget as the gateway uses it: this node's alone, or cluster-wide. */
export interface RateCounter {
  /** Registers a connection of `userId` (budgets live while the user has connections). */
  attach(userId: string): void;
  detach(userId: string): void;
  /** Takes one message from the budget; false when the user is over the limit. Never waits. */
  take(userId: string): boolean;
}

/**
 * Token bucket per user, shared by all of the user's connections on this node: `ratePerSec`
 * sustained with a burst of `burst`, so an ICE trickle or a meeting join passes while a flood
 * does not.
 */
export class RateLimiter implements RateCounter {
  private readonly buckets = new Map<string, { tokens: number; at: number; refs: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Registers a connection of `userId` (buckets live while the user has connections). */
  attach(userId: string): void {
    const b = this.buckets.get(userId);
    if (b) b.refs++;
    else this.buckets.set(userId, { tokens: this.burst, at: this.clock(), refs: 1 });
  }

  detach(userId: string): void {
    const b = this.buckets.get(userId);
    if (b && --b.refs === 0) this.buckets.delete(userId);
  }

  /** Takes one token; false when the user is over the limit. */
  take(userId: string): boolean {
    const b = this.buckets.get(userId);
    if (!b) return false;
    const now = this.clock();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
