import type { DeviceRef } from '@parley/protocol';

/** A device's membership of a room, as the mirror keeps it. */
export interface RoomMembership extends DeviceRef {
  roomId: string;
  /** The member's nickname. */
  name: string;
}

/** One direction of a ROOM signaling pair: `from` offered `to`, and whether `to` answered. */
export interface RoomPair {
  from: string;
  to: string;
  phase: 'offered' | 'answered';
}

/** Everything the mirror holds. */
export interface RoomSnapshot {
  members: RoomMembership[];
  pairs: RoomPair[];
}

/**
 * A copy of the room manager's state outside this process, written behind each change, so
 * that whichever node holds the rooms next can take them over (cluster mode keeps it in
 * Redis). Writes never wait and never fail the command: a lost write costs a member's
 * re-join after a failover, not the room.
 */
export interface RoomMirror {
  joined(m: RoomMembership): void;
  left(roomId: string, deviceId: string): void;
  paired(p: RoomPair): void;
  unpaired(from: string, to: string): void;
  load(): Promise<RoomSnapshot>;
}
