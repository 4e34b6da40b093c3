export { RoomManager, type RoomManagerOptions, type RoomView } from './rooms.ts';
export type { RoomMembership, RoomMirror, RoomPair, RoomSnapshot } from './mirror.ts';
export { runsWithRooms } from './rooms-node.ts';
