/**
 * Counts one connection's rate-limited messages in a fixed window. A client that keeps sending
 * past its budget after being told so (`floodStrikes` refusals within `floodWindowMs`) is
 * flooding, not bursting, and its connection is closed: every transport uses the same rule.
 */
export class FloodStrikes {
  private strikes = 0;
  private windowStart = 0;

  constructor(private readonly limits: { floodStrikes: number; floodWindowMs: number }) {}

  /** Counts a refusal at `now` (epoch ms); true when it makes the connection a flood. */
  strike(now: number): boolean {
    if (now - this.windowStart > this.limits.floodWindowMs) {
      this.windowStart = now;
      this.strikes = 0;
    }
    return ++this.strikes >= this.limits.floodStrikes;
  }
}
