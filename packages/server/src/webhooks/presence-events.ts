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
      if (had) await offlineUnlessLeft(userId, deviceId);
    },
    // A dead node's devices: each of its users with no device left anywhere goes offline, once
    // (one janitor cleans up after a node).
    async takeNode(nodeId) {
      const taken = await inner.takeNode(nodeId);
      const lastOf = new Map(taken.map((e) => [e.userId, e.deviceId]));
      for (const [userId, deviceId] of lastOf) await offlineUnlessLeft(userId, deviceId);
      return taken;
    },
    devices: (userId) => inner.devices(userId),
    users: () => inner.users(),
  };

  /** `user.offline` if `userId` has no device left (`deviceId` was the last to go). */
  async function offlineUnlessLeft(userId: string, deviceId: string): Promise<void> {
    if ((await inner.devices(userId)).length > 0) return;
    announce({
      type: 'user.offline',
      stream: `user:${userId}`,
      at: clock(),
      data: { userId, deviceId },
    });
  }
}
