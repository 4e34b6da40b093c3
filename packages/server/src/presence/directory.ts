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

/** The single-node directory. */
export class MemoryDirectory implements PresenceDirectory {
  private readonly byUser = new Map<string, Map<string, PresenceEntry>>();

  add(entry: PresenceEntry): Promise<void> {
    let devices = this.byUser.get(entry.userId);
    if (!devices) this.byUser.set(entry.userId, (devices = new Map<string, PresenceEntry>()));
    devices.set(entry.deviceId, entry);
    return Promise.resolve();
  }

  remove(userId: string, deviceId: string): Promise<void> {
    const devices = this.byUser.get(userId);
    if (devices?.delete(deviceId) && devices.size === 0) this.byUser.delete(userId);
    return Promise.resolve();
  }

  devices(userId: string): Promise<PresenceEntry[]> {
    return Promise.resolve([...(this.byUser.get(userId)?.values() ?? [])]);
  }

  takeNode(nodeId: string): Promise<PresenceEntry[]> {
    const taken: PresenceEntry[] = [];
    for (const [userId, devices] of this.byUser) {
      for (const e of devices.values()) {
        if (e.nodeId !== nodeId) continue;
        taken.push(e);
        devices.delete(e.deviceId);
      }
      if (devices.size === 0) this.byUser.delete(userId);
    }
    return Promise.resolve(taken);
  }

  users(): Promise<Array<{ userId: string; name: string; devices: number }>> {
    return Promise.resolve(
      [...this.byUser].map(([userId, devices]) => ({
        userId,
        name: devices.values().next().value?.name ?? userId,
        devices: devices.size,
      })),
    );
  }
}
