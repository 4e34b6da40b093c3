import type { Media } from './call.ts';
import type { RtcCommand } from './meeting.ts';

/**
 * How a command names its call. Native clients use the `callId`; dialects that have no call id
 * (video_call, chat-protobuf) name the two parties and the engine finds their live call.
 */
export type CallSelector =
  | { callId: string }
  | { caller: string; callee: string }
  /** The sender's live call with `peer`, whichever of the two called (chat-protobuf). */
  | { peer: string };

/** An ICE candidate as RTCIceCandidateInit; `null` marks end-of-candidates. */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * The sender's own chat-protobuf `ChatMessage`, carried with the command it became, so that a
 * chat-protobuf recipient receives it as sent (the spec's forwardMessageToUser): every field
 * but `from` (checked to be the sender), `to` (the recipient) and `timestamp` (stamped by the
 * server). Plain JSON, so that it crosses nodes with the command or event.
 */
export interface ChatOrigin {
  avatar: string;
  fromUsername: string;
  /** Field 7. */
  type: string;
  messageType: number;
  url: string;
  fileSuffix: string;
  /** Field 11 as base64; absent when empty. */
  file?: string;
  duration: number;
  /** `content`, the signal JSON, parsed once: every key the sender set. */
  content: Record<string, unknown>;
}

/** Start a call. Rings every online device of `callee`. */
export interface InviteCommand {
  type: 'call:invite';
  callee: string;
  media: Media;
  /** netcall's forceKeepCalling: devices that connect while ringing ring too. */
  keepCalling: boolean;
  origin?: ChatOrigin;
}
/** A callee device answers. The first accept or reject from any device wins. */
export interface AcceptCommand {
  type: 'call:accept';
  call: CallSelector;
  origin?: ChatOrigin;
}
/** A callee device declines. */
export interface RejectCommand {
  type: 'call:reject';
  call: CallSelector;
  origin?: ChatOrigin;
}
/**
 * End a call. While ringing, from the caller this cancels and from the callee it rejects;
 * after accept it hangs up. `reason` lets a client report its own ring timeout.
 */
export interface HangupCommand {
  type: 'call:hangup';
  call: CallSelector;
  reason?: 'no_answer';
  origin?: ChatOrigin;
}
/**
 * Where a command or event may carry its SDP as the JSON string literal (quotes and escapes
 * included) that the sender's frame held, when the dialect could take it from the frame as is.
 * A JSON encoder then copies those bytes instead of escaping the SDP all over again (a 1.5 KB
 * offer: 1.6 instead of 4.2 µs). A symbol key, so that no JSON of a command or event (the
 * cluster bus, logs) carries it: an encoder that lacks it encodes `sdp`.
 */
export const sdpJson: unique symbol = Symbol('parley.sdpJson');

/**
 * Where an ICE command or event may carry its candidate as the JSON literal the sender's frame
 * held (see `sdpJson`): a relayed candidate is then copied, not stringified again.
 */
export const candidateJson: unique symbol = Symbol('parley.candidateJson');

/** SDP offer or answer for the other party's device (also mid-call renegotiation). */
export interface SdpCommand {
  type: 'call:offer' | 'call:answer';
  call: CallSelector;
  sdp: string;
  [sdpJson]?: Uint8Array | undefined;
  origin?: ChatOrigin | undefined;
}
/** A trickled ICE candidate for the other party's device. */
export interface IceCommand {
  type: 'call:ice';
  call: CallSelector;
  candidate: IceCandidate | null;
  [candidateJson]?: Uint8Array | undefined;
  origin?: ChatOrigin | undefined;
}
/** video_call's handled_answer sent by a client: relayed to the sender's other devices. */
export interface HandledCommand {
  type: 'call:handled';
  call: CallSelector;
}

/**
 * A party's device reports its peer-to-peer media, which the server cannot see: ICE/DTLS
 * connected (`at`: when, ms since the epoch) or failed (`reason`). Feeds the call's record and
 * the success and error rates.
 */
export type MediaCommand =
  | { type: 'call:media'; call: CallSelector; state: 'connected'; at?: number }
  | { type: 'call:media'; call: CallSelector; state: 'failed'; reason: string };

/** Commands of the 1:1 call engine. */
export type CallCommand =
  | InviteCommand
  | AcceptCommand
  | RejectCommand
  | HangupCommand
  | SdpCommand
  | IceCommand
  | HandledCommand
  | MediaCommand;

/** Commands that are relayed device to device after accept. */
export type RelayCommand = SdpCommand | IceCommand;

/** Join a room (rooms are shared by every dialect). */
export interface RoomJoinCommand {
  type: 'room:join';
  roomId: string;
}
/** Leave a room. */
export interface RoomLeaveCommand {
  type: 'room:leave';
  roomId: string;
}
/** List a room's members (the sender must be one). */
export interface RoomMembersCommand {
  type: 'room:members';
  roomId: string;
}

/** The three signals of the ROOM module. */
export type RoomSignalKind = 'offer' | 'answer' | 'ice';

/**
 * Peer-to-peer signaling between two members of a room (ROOM WEBRTC_*). The payload is
 * opaque; `requestId` travels with it to the receiver.
 */
export interface RoomSignalCommand {
  type: 'room:signal';
  kind: RoomSignalKind;
  to: string;
  payload: unknown;
  requestId?: string;
}

/** A chat message (chat-protobuf content types 1–5). `from` is always the sender. */
export interface ChatPayload {
  to: string;
  /** 1 = single chat (to a user), 2 = group chat (to a room). */
  messageType: 1 | 2;
  /** 1 text, 2 file, 3 image, 4 voice, 5 video. */
  contentType: number;
  content: string;
  kind: string;
  avatar: string;
  fromUsername: string;
  url: string;
  fileSuffix: string;
  file: Uint8Array;
  duration: number;
}

/** Send a chat message to a user's devices or a room's members. */
export interface ChatSendCommand {
  type: 'chat:send';
  message: ChatPayload;
}

/**
 * A chat-protobuf signal of a type Parley does not know (an app's own `mute`, `busy`, ...):
 * forwarded to the devices of `to` as sent.
 */
export interface ChatSignalCommand {
  type: 'chat:signal';
  to: string;
  origin: ChatOrigin;
}

/** Room and chat commands. */
export type RoomCommand =
  RoomJoinCommand | RoomLeaveCommand | RoomMembersCommand | RoomSignalCommand;

/**
 * Replaces the connection's token before it expires (native `/ws`): a token of the same user
 * (`sub`) whose `exp` becomes the connection's new deadline. Handled by the connection itself.
 */
export interface AuthRefreshCommand {
  type: 'auth:refresh';
  token: string;
}

/** Every canonical command a dialect can produce. */
export type Command =
  CallCommand | RoomCommand | ChatSendCommand | ChatSignalCommand | RtcCommand | AuthRefreshCommand;

/** The canonical command type names. */
export type CommandType = Command['type'];
