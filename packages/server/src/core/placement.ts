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
   * Takes lease `name` for `ttlMs`, or renews it when this node holds it; true while this node
   * holds it (then no other node of the cluster does, until it lapses unrenewed). False when
   * the answer cannot be had. A single node always holds it.
   */
  lease(name: string, ttlMs: number): Promise<boolean>;
  /** Gives lease `name` up if this node holds it (a successor need not wait for it to lapse). */
  releaseLease(name: string): Promise<void>;
}
