export { RoomManager, type RoomManagerOptions, type RoomView } from './rooms.ts';
