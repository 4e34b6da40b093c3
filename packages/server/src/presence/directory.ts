import type { PresenceDirectory, PresenceEntry } from '../core/index.ts';

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
