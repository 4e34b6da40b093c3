import type { PresenceDirectory, PresenceEntry } from '../core/index.ts';

/** The single-node directory. */
export class MemoryDirectory implements PresenceDirectory {
  private readonly byUser = new Map<string, Map<string, PresenceEntry>>();

  add(entry: PresenceEntry): Promise<number> {
    let devices = this.byUser.get(entry.userId);
    if (!devices) this.byUser.set(entry.userId, (devices = new Map<string, PresenceEntry>()));
    devices.set(entry.deviceId, entry);
    return Promise.resolve(devices.size);
  }

  remove(userId: string, deviceId: string): Promise<number | null> {
    const devices = this.byUser.get(userId);
    if (!devices?.delete(deviceId)) return Promise.resolve(null);
    if (devices.size === 0) this.byUser.delete(userId);
    return Promise.resolve(devices.size);
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
