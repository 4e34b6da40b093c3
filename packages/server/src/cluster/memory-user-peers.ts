import type { UserPeers } from '../core/index.ts';

/**
 * Users' media peer slots on this node, in memory: a single node's whole count, and a cluster
 * node's own share (which RedisUserPeers publishes).
 */
export class MemoryUserPeers implements UserPeers {
  private readonly slots = new Map<string, number>();

  /** The user's slots on this node. */
  held(userId: string): number {
    return this.slots.get(userId) ?? 0;
  }

  /** Every user with slots on this node, and how many. */
  entries(): Array<[string, number]> {
    return [...this.slots];
  }

  take(userId: string, cap: number, extra: number): Promise<boolean> {
    if (this.held(userId) + extra >= cap) return Promise.resolve(false);
    this.adjust(userId, 1);
    return Promise.resolve(true);
  }

  give(userId: string): void {
    this.adjust(userId, -1);
  }

  /** Adds `by` to the user's slots (forgetting a user left with none); returns their slots. */
  adjust(userId: string, by: number): number {
    const n = Math.max(0, this.held(userId) + by);
    if (n === 0) this.slots.delete(userId);
    else this.slots.set(userId, n);
    return n;
  }
}
