import type { CallRecord, ClientType, DeviceRef, EndReason, Media } from './call.ts';
import type { ChatOrigin, ChatPayload, IceCandidate, RoomSignalKind } from './commands.ts';
import type { candidateJson, sdpJson } from './commands.ts';
import type { RtcEvent } from './meeting.ts';

/** Fields every call event carries, so that every dialect can address its own shape. */
interface CallEventBase {
  callId: string;
  caller: string;
  callee: string;
  media: Media;
  /** The chat-protobuf message this event forwards to the other party, if it came from one. */
  origin?: ChatOrigin | undefined;
}

/** To each callee device: a call is ringing (netcall beCalling). */
export interface IncomingEvent extends CallEventBase {
  type: 'call:incoming';
  callerName: string;
  callerDevice: DeviceRef;
}
/** To the caller's device: how many callee devices are ringing. */
export interface RingingEvent extends CallEventBase {
  type: 'call:ringing';
  devices: number;
}
/** To the caller's device: the callee answered (netcall callAccepted). */
export interface AcceptedEvent extends CallEventBase {
  type: 'call:accepted';
  by: DeviceRef;
}
/**
 * To the callee's other devices: one device answered (netcall callerAckSync,
 * video_call handled_answer). Stops their ringing.
 */
export interface AnsweredElsewhereEvent extends CallEventBase {
  type: 'call:answered_elsewhere';
  accepted: boolean;
  by: DeviceRef;
  fromClientType: ClientType;
  timetag: number;
}
/** To every device involved: the call is over. */
export interface EndedEvent extends CallEventBase {
  type: 'call:ended';
  reason: EndReason;
  /** The user whose action ended it, if any. */
  by: string | null;
}
/** Relayed SDP, from one party's device to the other's. */
export interface SdpEvent extends CallEventBase {
  type: 'call:offer' | 'call:answer';
  from: string;
  sdp: string;
  /** `sdp` as the sender's JSON literal, when its dialect kept it (see `sdpJson`). */
  [sdpJson]?: Uint8Array | undefined;
}
/** Relayed ICE candidate. */
export interface IceEvent extends CallEventBase {
  type: 'call:ice';
  from: string;
  candidate: IceCandidate | null;
  /** `candidate` as the sender's JSON literal, when its dialect kept it (see `candidateJson`). */
  [candidateJson]?: Uint8Array | undefined;
}
/** video_call handled_answer that a client sent, relayed to that user's other devices. */
export interface HandledEvent extends CallEventBase {
  type: 'call:handled';
  from: string;
}
/** To every device of both parties once the record is stored (netcall 话单). */
export interface RecordEvent {
  type: 'call:record';
  record: CallRecord;
}

/** To every member device of a room: someone joined or left. */
export interface RoomMemberEvent {
  type: 'room:member_joined' | 'room:member_left';
  roomId: string;
  userId: string;
  name: string;
}
/** A ROOM signal relayed to its target, with the sender's requestId intact. */
export interface RoomSignalEvent {
  type: 'room:signal';
  kind: RoomSignalKind;
  from: string;
  to: string;
  payload: unknown;
  requestId?: string;
}
/** A chat message delivered to a device; the server stamped `timestamp`. */
export interface ChatMessageEvent {
  type: 'chat:message';
  from: string;
  message: ChatPayload;
  /** Epoch ms. */
  timestamp: number;
}

/** A chat-protobuf app signal (ChatSignalCommand) delivered to a device of `to`. */
export interface ChatSignalEvent {
  type: 'chat:signal';
  from: string;
  to: string;
  origin: ChatOrigin;
  /** Epoch ms. */
  timestamp: number;
}

/** Events of the 1:1 call engine. */
export type CallEvent =
  | IncomingEvent
  | RingingEvent
  | AcceptedEvent
  | AnsweredElsewhereEvent
  | EndedEvent
  | SdpEvent
  | IceEvent
  | HandledEvent
  | RecordEvent;

/** Every canonical event a dialect must be able to encode. */
export type ServerEvent =
  CallEvent | RoomMemberEvent | RoomSignalEvent | ChatMessageEvent | ChatSignalEvent | RtcEvent;

/** The canonical event type names. */
export type EventType = ServerEvent['type'];

/** True for events of the 1:1 call engine (`call:*`). */
export function isCallEvent(e: ServerEvent): e is CallEvent {
  return e.type.startsWith('call:');
}
