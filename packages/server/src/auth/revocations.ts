import { AppError } from '@parley/protocol';
import type { Revocation } from '../core/index.ts';
import type { Authenticator, Identity } from './jwt.ts';

/** What a revocation is checked against: a token's user, id and issue time. */
export type TokenRef = Pick<Identity, 'userId' | 'jti' | 'issuedAt'>;

/**
 * The revocations in force, in memory: every node keeps the whole list (it is short: ids
 * until their tokens expire, and one cut-off per user), so that a check costs a lookup and
 * never a query. The store holds them for restarts; the bus brings other nodes' at once.
 */
export class RevocationList {
  private readonly ids = new Map<string, number>();
  private readonly cutoffs = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Adds a revocation (idempotent; a user's latest cut-off wins). */
  add(r: Revocation): void {
    if (r.kind === 'jti') {
      this.ids.set(r.jti, Math.max(r.expiresAt, this.ids.get(r.jti) ?? 0));
    } else {
      this.cutoffs.set(r.userId, Math.max(r.before, this.cutoffs.get(r.userId) ?? 0));
    }
  }

  /**
   * Whether a token is revoked. A cut-off is compared in whole seconds, as `iat` is: a token
   * issued in the second of the cut-off stands (the user's sign-in right after it must work).
   */
  revoked(t: TokenRef): boolean {
    if (t.jti !== undefined && this.ids.has(t.jti)) return true;
    const cutoff = this.cutoffs.get(t.userId);
    if (cutoff === undefined) return false;
    return Math.floor((t.issuedAt ?? 0) / 1000) < Math.floor(cutoff / 1000);
  }

  /** Drops the ids whose tokens have expired: they cannot be presented any more. */
  prune(): void {
    const now = this.clock();
    for (const [jti, exp] of this.ids) if (exp <= now) this.ids.delete(jti);
  }

  get size(): number {
    return this.ids.size + this.cutoffs.size;
  }
}

/** The authenticator that also refuses revoked tokens (401 `token revoked`). */
export function refusingRevoked(auth: Authenticator, list: RevocationList): Authenticator {
  return {
    async verify(token) {
      const identity = await auth.verify(token);
      if (list.revoked(identity)) throw AppError.unauthorized('token revoked');
      return identity;
    },
    mint: (userId, opts) => auth.mint(userId, opts),
  };
}
