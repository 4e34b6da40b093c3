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
  add(entry: PresenceEntry): Promise<void>;
  remove(userId: string, deviceId: string): Promise<void>;
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
