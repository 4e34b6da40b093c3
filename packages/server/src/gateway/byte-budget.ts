/**
 * A token bucket of bytes for one connection: `perSec` bytes per second, holding at most
 * `burst`. Only frames above the ordinary frame cap draw from it (a chat message carrying a file
 * or an inline avatar), so that a few of them pass while a stream of them is refused.
 */
export class ByteBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = clock();
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when it does not hold them. */
  take(bytes: number): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSec);
    this.at = now;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
