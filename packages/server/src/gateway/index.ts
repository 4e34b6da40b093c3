export { Gateway, type GatewayOptions, type RemoteSessions } from './upgrade.ts';
export type { SessionHandoff } from './sessions.ts';
export { Hub, type DeviceConnection } from './hub.ts';
export { Dispatcher, type Handler } from './dispatcher.ts';
export { CloseCode, Connection } from './connection.ts';
export {
  RATE_CLASSES,
  RateLimiter,
  rateBudgets,
  rateClassOf,
  type RateBudget,
  type RateClass,
  type RateCounter,
} from './rate-limit.ts';
export type { Dialect, DialectName, Decoded, WireFrame } from './dialect.ts';
export { nativeDialect } from './dialects/native.ts';
export { videoCallDialect } from './dialects/video-call.ts';
export { chatProtobufDialect } from './dialects/chat-protobuf.ts';
export { roomDialect } from './dialects/room.ts';
export { meetingDialect } from './dialects/meeting.ts';
export { SocketIoGateway, SOCKET_IO_PATH, type SocketIoGatewayOptions } from './socket-io.ts';
export { routeForwardedCommands } from './forwarded-commands.ts';
export { SessionHandoffs } from './session-handoff.ts';
