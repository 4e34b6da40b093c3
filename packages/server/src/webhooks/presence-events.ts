import type { WebhookEvent } from '../core/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';

/**
 * The presence directory, announcing `user.online` when a user's first device comes and
 * `user.offline` when the last one goes (as the directory sees it just after the change).
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
      await inner.add(entry);
      if ((await inner.devices(entry.userId)).length !== 1) return;
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
    },
    async remove(userId, deviceId) {
      const had = (await inner.devices(userId)).some((d) => d.deviceId === deviceId);
      await inner.remove(userId, deviceId);
      if (!had || (await inner.devices(userId)).length > 0) return;
      announce({
        type: 'user.offline',
        stream: `user:${userId}`,
        at: clock(),
        data: { userId, deviceId },
      });
    },
    devices: (userId) => inner.devices(userId),
    users: () => inner.users(),
  };
}
