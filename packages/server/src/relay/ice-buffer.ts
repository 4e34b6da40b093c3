/**
 * Holds ICE candidates that arrive before the call's first offer has been relayed (a client
 * that trickles early, or a reordering across nodes), for a bounded time and count.
 */
export class EarlyIceBuffer<T> {
  private items: Array<{ item: T; until: number }> = [];

  constructor(
    private readonly ttlMs: number,
    private readonly max = 64,
  ) {}

  /** Holds one candidate; the oldest is dropped past `max`. Returns how many were dropped. */
  hold(item: T, now: number): number {
    const dropped = this.expire(now);
    this.items.push({ item, until: now + this.ttlMs });
    if (this.items.length > this.max) {
      this.items.shift();
      return dropped + 1;
    }
    return dropped;
  }

  /** Everything still fresh, in arrival order; the buffer is emptied. */
  release(now: number): T[] {
    this.expire(now);
    const out = this.items.map((i) => i.item);
    this.items = [];
    return out;
  }

  get size(): number {
    return this.items.length;
  }

  private expire(now: number): number {
    const before = this.items.length;
    this.items = this.items.filter((i) => i.until > now);
    return before - this.items.length;
  }
}
