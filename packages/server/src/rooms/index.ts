export { RoomManager, type RoomManagerOptions, type RoomView } from './rooms.ts';
export type { RoomMembership, RoomMirror, RoomPair, RoomSnapshot } from '../core/index.ts';
export { runsWithRooms } from './rooms-node.ts';
export { RoomsLease, type RoomsLeaseOptions } from './lease.ts';
