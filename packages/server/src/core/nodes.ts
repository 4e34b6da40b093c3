/**
 * The cluster's members as this node last saw them (the Redis registry's heartbeat). The
 * routers of the domains read it to skip dead nodes and to follow the rooms lease.
 */
export interface Nodes {
  /** This node and every other node alive at the last heartbeat. */
  live(): string[];
  /** Whether `nodeId` may be alive: not seen dead (or seen alive again since). */
  isAlive(nodeId: string): boolean;
  /** Asks again whether a node taken for dead is alive after all (the unhappy path only). */
  confirmAlive(nodeId: string): Promise<boolean>;
  /** Another node cleaned up after `nodeId`: it is dead here too. */
  markDead(nodeId: string): void;
  /** The node holding the rooms lease, as of the last heartbeat. */
  roomsLeader(): string | null;
  /** Called when the rooms lease changes hands. */
  onLeaderChange(handler: (leader: string | null) => void): void;
  /** Called after the cluster's store came back (what it lost is written again). */
  onReconnect(handler: () => void): void;
}
