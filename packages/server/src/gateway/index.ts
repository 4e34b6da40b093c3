export { Gateway, type GatewayOptions } from './upgrade.ts';
export { Hub } from './hub.ts';
export { Dispatcher, type Handler } from './dispatcher.ts';
export { CloseCode, Connection } from './connection.ts';
export type { Dialect, DialectName, Decoded, WireFrame } from './dialect.ts';
export { nativeDialect } from './dialects/native.ts';
export { videoCallDialect } from './dialects/video-call.ts';
