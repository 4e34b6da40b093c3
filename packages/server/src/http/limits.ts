import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getConnInfo } from '@hono/node-server/conninfo';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail } from './rest.ts';

/** Keys whose buckets are kept at most; beyond it, full (idle) buckets are dropped first. */
const MAX_KEYS = 100_000;

/**
 * A token bucket per key (a user, a client IP) that keeps no entry for a key that has been
 * idle long enough to be full again: memory stays bounded by the keys active right now.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes one token of `key`'s bucket; false when the key is over its rate. */
  take(key: string): boolean {
    const now = this.clock();
    const b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_KEYS) this.sweep(now);
      this.buckets.set(key, { tokens: this.burst - 1, at: now });
      return true;
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops the buckets that are full again; if none is, the oldest ones. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.ratePerSec >= this.burst)
        this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < MAX_KEYS) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * Every request body is capped at `maxBodyBytes`: a declared Content-Length above it is refused
 * before anything is read, a chunked body as soon as it passes the cap (413, REST 41301). The
 * connection is closed after the answer, so that the rest of the body is not read either.
 */
export function bodyCap(rest: Config['rest']): MiddlewareHandler {
  return bodyLimit({
    maxSize: rest.maxBodyBytes,
    onError: (c) => {
      c.header('connection', 'close');
      return fail(c, AppError.bodyTooLarge(rest.maxBodyBytes));
    },
  });
}

/**
 * The authenticator the REST routes use: the token's user must also be within the REST rate
 * (429, REST 42901, in the REST error envelope through `bearer`).
 */
export function rateLimitedAuth(auth: Authenticator, limiter: KeyedRateLimiter): Authenticator {
  return {
    async verify(token) {
      const identity = await auth.verify(token);
      if (!limiter.take(`u:${identity.userId}`)) throw AppError.rateLimited();
      return identity;
    },
    mint: (userId, opts) => auth.mint(userId, opts),
  };
}

/** The REST rate per client IP, for routes that take no token (the dev sign-in). */
export function ipRateLimit(limiter: KeyedRateLimiter): MiddlewareHandler {
  return async (c, next) => {
    const ip = getConnInfo(c).remote.address ?? 'unknown';
    if (!limiter.take(`ip:${ip}`)) return fail(c, AppError.rateLimited());
    await next();
    return undefined;
  };
}
