import type { Placement } from '../core/index.ts';

/** A single node's placement: everything runs here. */
export function localPlacement(nodeId: string): Placement {
  return {
    callOwner: () => nodeId,
    meetingNode: () => Promise.resolve(nodeId),
    meetingClosed: () => undefined,
    roomsNode: () => Promise.resolve(nodeId),
    lease: () => Promise.resolve(1),
    leaseHeld: () => Promise.resolve(true),
    releaseLease: () => Promise.resolve(),
  };
}
