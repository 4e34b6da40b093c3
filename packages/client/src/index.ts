/**
 * Parley's browser SDK. Start with {@link ParleyClient}; the call API is on `client.netcall`
 * (specs/netcall-sdk.md), meetings come from `client.joinMeeting()`.
 */
export { ParleyClient, type ParleyClientOptions, type ParleyClientEvents } from './client.ts';
export { NetCall, type NetCallOptions } from './call/netcall.ts';
export {
  type NetCallType,
  type NetCallEvents,
  type NetCallUser,
  type CallOptions,
  type ResponseOptions,
  type StartRtcOptions,
  type TimeTag,
  type BeCallingEvent,
  type CallAcceptedEvent,
  type CallRejectedEvent,
  type CallerAckSyncEvent,
  type HangupEvent,
  type SyncDoneEvent,
  type SyncDoneUser,
  type ClientJoinEvent,
  type ClientLeaveEvent,
  type CallEndedEvent,
  type RtcInfo,
} from './call/netcall-events.ts';
export { Call, type CallContext } from './call/call.ts';
export { realClock, type CallClock, type TimerHandle } from './call/clock.ts';
export type { CallPhase, CallRole } from './call/call-machine.ts';
export type {
  CallEvents,
  CallAnswer,
  CallEnd,
  CallEndReason,
  CallMember,
} from './call/call-events.ts';
export { BrowserPeerHandler } from './call/browser-peer.ts';
export type {
  PeerHandler,
  PeerHandlerEvents,
  PeerHandlerFactory,
  PeerSignal,
  PeerStartOptions,
  MediaConnectionState,
  MediaConstraints,
  InputKind,
} from './call/peer-handler.ts';
export {
  measureQuality,
  type CallQuality,
  type QualityLevel,
  type QualitySample,
} from './call/quality.ts';
export {
  Meeting,
  type MeetingEvents,
  type MeetingOptions,
  type MeetingPeer,
  type MeetingEndReason,
  type PublishOptions,
  type RemoteTrack,
  type TrackSource,
} from './meeting/meeting.ts';
export { MeetingDevices } from './meeting/devices.ts';
export {
  Signaling,
  type SignalingEvents,
  type SignalingOptions,
  type ConnectionState,
  type TokenSource,
} from './signaling.ts';
export { browserSocket, type SignalingSocket, type SocketFactory } from './socket.ts';
export {
  DefaultReconnectPolicy,
  type DefaultReconnectPolicyOptions,
  type ReconnectContext,
  type ReconnectPolicy,
} from './reconnect-policy.ts';
export { ParleyError, ClientErrorCode, type ParleyErrorCode } from './errors.ts';
export {
  RestApi,
  devSignIn,
  type CallHistoryPage,
  type DevToken,
  type OnlineUser,
} from './rest.ts';
export { Emitter, type EventMap, type Listener } from './emitter.ts';
export type {
  CallRecord,
  DeviceRef,
  EndReason,
  IceServer,
  Media,
  MeetingInfo,
  MeetingParticipant,
  SessionReady,
} from '@parley/protocol';
