import type { DeviceRef } from '@parley/protocol';

/** A connected device and the node that holds its connection. */
export interface PresenceEntry extends DeviceRef {
  name: string;
  nodeId: string;
  /** Epoch ms the device connected. */
  since: number;
}

/**
 * user → devices → node. In-process by default; the Redis directory (cluster mode) keeps the
 * same contract with a TTL refreshed by heartbeat, so a dead node's devices disappear.
 */
export interface PresenceDirectory {
  /**
   * Adds a device; resolves how many live devices its user has with it, counted in the same
   * step as the add: of two first devices that come at once (on two nodes), one is the first.
   */
  add(entry: PresenceEntry): Promise<number>;
  /**
   * Removes a device; resolves how many live devices its user has left, counted in the same
   * step as the removal (of two last devices that go at once, one is the last), or null when
   * the device was not there.
   */
  remove(userId: string, deviceId: string): Promise<number | null>;
  /** Every online device of a user, on any node. */
  devices(userId: string): Promise<PresenceEntry[]>;
  /** Every online user with their nickname (the demo's contact list). */
  users(): Promise<Array<{ userId: string; name: string; devices: number }>>;
  /**
   * Removes every device of node `nodeId`, which is gone (a cluster's janitor cleaning up after
   * a dead node), and returns them: they go offline as a disconnect's would.
   */
  takeNode(nodeId: string): Promise<PresenceEntry[]>;
}
