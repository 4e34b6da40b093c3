/**
 * Which node runs what: a call (its owner), a meeting's media room, the rooms (one lease for
 * the cluster). A single node runs everything itself; a cluster asks Redis.
 */
export interface Placement {
  /** The node that owns call `callId`. */
  callOwner(callId: string): string;
  /**
   * The live node holding meeting `meetingId`'s media room; with `claim` (a join), one that
   * nobody live holds is claimed for this node. This node when none holds it or the answer
   * cannot be had.
   */
  meetingNode(meetingId: string, claim: boolean): Promise<string>;
  /** This node's media room of the meeting closed: the meeting is free for any node. */
  meetingClosed(meetingId: string): void;
  /**
   * The node holding the rooms lease, waiting at most `waitMs` while it is vacant (its holder
   * died); this node when there is none.
   */
  roomsNode(waitMs: number): Promise<string>;
  /**
   * Takes lease `name` for `ttlMs`, or renews it when this node holds it. While this node holds
   * it (then no other node of the cluster does, until it lapses unrenewed): the tenure's fencing
   * token, the same at each renewal and greater at each taking, so that whoever acts under the
   * lease can check that its tenure is still the current one (`leaseHeld`). Null when another
   * node holds it or the answer cannot be had. A single node always holds it.
   */
  lease(name: string, ttlMs: number): Promise<number | null>;
  /** Whether the tenure of `token` still holds lease `name` (false when that cannot be known). */
  leaseHeld(name: string, token: number): Promise<boolean>;
  /** Gives lease `name` up if the tenure of `token` holds it (a successor need not wait). */
  releaseLease(name: string, token: number): Promise<void>;
}
