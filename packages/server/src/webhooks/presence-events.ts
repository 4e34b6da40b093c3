import type { WebhookEvent } from '../core/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';

/**
 * The presence directory, announcing `user.online` when a user's first device comes and
 * `user.offline` when the last one goes (as the directory sees it just after the change),
 * whether it disconnected or its node died.
 * Presence is not in the store: these events are written on their own, through the queue that
 * keeps every record write (retried, journaled).
 */
export function announcingDirectory(
  inner: PresenceDirectory,
  announce: (e: WebhookEvent) => void,
  clock: () => number = Date.now,
): PresenceDirectory {
  return {
    async add(entry) {
      const devices = await inner.add(entry);
      if (devices !== 1) return devices;
      announce({
        type: 'user.online',
        stream: `user:${entry.userId}`,
        at: clock(),
        data: {
          userId: entry.userId,
          name: entry.name,
          deviceId: entry.deviceId,
          clientType: entry.clientType,
        },
      });
      return devices;
    },
    // Counted in the same step as the change (see PresenceDirectory): of two first (or last)
    // devices at once, exactly one announces.
    async remove(userId, deviceId) {
      const left = await inner.remove(userId, deviceId);
      if (left === 0) offline(userId, deviceId);
      return left;
    },
    // A dead node's devices: each of its users with no device left anywhere goes offline, once
    // (one janitor cleans up after a node).
    async takeNode(nodeId) {
      const taken = await inner.takeNode(nodeId);
      const lastOf = new Map(taken.map((e) => [e.userId, e.deviceId]));
      for (const [userId, deviceId] of lastOf) {
        if ((await inner.devices(userId)).length === 0) offline(userId, deviceId);
      }
      return taken;
    },
    devices: (userId) => inner.devices(userId),
    users: () => inner.users(),
  };

  /** `user.offline`: `deviceId` was the last of `userId`'s devices to go. */
  function offline(userId: string, deviceId: string): void {
    announce({
      type: 'user.offline',
      stream: `user:${userId}`,
      at: clock(),
      data: { userId, deviceId },
    });
  }
}
