/**
 * The media peers each user holds across meetings, on every node of the cluster: what the cap
 * `caps.peersPerUser` counts. A node takes a slot for a user before one more peer of theirs
 * joins a meeting's media here, and gives it back when that peer goes (or the join fails).
 * In memory on a single node; in Redis, per node, in a cluster.
 */
export interface UserPeers {
  /**
   * Takes a slot for one more peer of `userId` on this node, unless the user already holds
   * `cap`: their slots on every live node, plus `extra` (what else this node counts against
   * them). Resolves whether it took one.
   */
  take(userId: string, cap: number, extra: number): Promise<boolean>;
  /** Gives back one slot that `take` gave (once per slot). */
  give(userId: string): void;
}
