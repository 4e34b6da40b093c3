import type { TokenRef } from '../auth/index.ts';

/**
 * How many tokens a connection remembers standing on: the one it was opened with and the
 * latest `auth:refresh` tokens. Refreshes are rate-limited, yet a connection may live for days,
 * so the list is capped. The opening token always stays (a connection opened with a stolen
 * token must close when that token is revoked, whatever was refreshed since); the oldest
 * refresh's goes first.
 */
export const MAX_CREDENTIALS = 4;

/** The tokens of `held` and then `next`, within MAX_CREDENTIALS (see there). */
export function withRefresh(held: readonly TokenRef[], next: TokenRef): TokenRef[] {
  const [opening, ...refreshed] = held;
  const kept = [...refreshed, next].slice(-(MAX_CREDENTIALS - 1));
  return opening ? [opening, ...kept] : kept;
}
