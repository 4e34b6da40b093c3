import type { PresenceEntry } from '../core/index.ts';

/** A web device's presence entry for tests: named after its user, connected at 0. */
export const presenceEntry = (userId: string, deviceId: string, nodeId: string): PresenceEntry => ({
  userId,
  deviceId,
  clientType: 'web',
  name: userId,
  nodeId,
  since: 0,
});
