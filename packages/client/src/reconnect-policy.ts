/**
 * When to retry a lost connection (LiveKit's ReconnectPolicy is the model): the SDK asks the
 * policy before every attempt; `null` gives up.
 */

/** What the policy is told before each attempt. */
export interface ReconnectContext {
  /** Attempts made so far since the connection was lost (0 before the first). */
  readonly retryCount: number;
  /** Milliseconds since the connection was lost. */
  readonly elapsedMs: number;
  /** Why the last attempt (or the connection) failed. */
  readonly reason: string;
}

/** Decides the delay before the next reconnection attempt. */
export interface ReconnectPolicy {
  /** Milliseconds to wait before the next attempt, or null to give up. */
  nextRetryDelayInMs(context: ReconnectContext): number | null;
}

/** Options of the default policy. */
export interface DefaultReconnectPolicyOptions {
  /** Delay of the second attempt; each later one doubles it. Default 300 ms. */
  baseDelayMs?: number;
  /** Upper bound of a delay before jitter. Default 5 s. */
  maxDelayMs?: number;
  /** Up to this much random delay is added to every attempt but the first. Default 500 ms. */
  jitterMs?: number;
  /** Give up this long after the connection was lost. Default 60 s. */
  maxElapsedMs?: number;
  /** A random number in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

/**
 * Exponential backoff with jitter: the first attempt at once (a resume must land within the
 * server's grace, 5 s by default), then base, 2·base, 4·base, ... up to `maxDelayMs`, each plus
 * up to `jitterMs` so that many clients dropped together do not come back together.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  private readonly base: number;
  private readonly max: number;
  private readonly jitter: number;
  private readonly maxElapsed: number;
  private readonly random: () => number;

  constructor(o: DefaultReconnectPolicyOptions = {}) {
    this.base = o.baseDelayMs ?? 300;
    this.max = o.maxDelayMs ?? 5_000;
    this.jitter = o.jitterMs ?? 500;
    this.maxElapsed = o.maxElapsedMs ?? 60_000;
    this.random = o.random ?? Math.random;
  }

  nextRetryDelayInMs({ retryCount, elapsedMs }: ReconnectContext): number | null {
    if (elapsedMs >= this.maxElapsed) return null;
    if (retryCount === 0) return 0;
    const backoff = Math.min(this.max, this.base * 2 ** (retryCount - 1));
    return Math.round(backoff + this.random() * this.jitter);
  }
}
