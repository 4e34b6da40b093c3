import type { Media } from './call.ts';

/**
 * How a command names its call. Native clients use the `callId`; dialects that have no call id
 * (video_call, chat-protobuf) name the two parties and the engine finds their live call.
 */
export type CallSelector = { callId: string } | { caller: string; callee: string };

/** An ICE candidate as RTCIceCandidateInit; `null` marks end-of-candidates. */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** Start a call. Rings every online device of `callee`. */
export interface InviteCommand {
  type: 'call:invite';
  callee: string;
  media: Media;
  /** netcall's forceKeepCalling: devices that connect while ringing ring too. */
  keepCalling: boolean;
}
/** A callee device answers. The first accept or reject from any device wins. */
export interface AcceptCommand {
  type: 'call:accept';
  call: CallSelector;
}
/** A callee device declines. */
export interface RejectCommand {
  type: 'call:reject';
  call: CallSelector;
}
/**
 * End a call. While ringing, from the caller this cancels and from the callee it rejects;
 * after accept it hangs up. `reason` lets a client report its own ring timeout.
 */
export interface HangupCommand {
  type: 'call:hangup';
  call: CallSelector;
  reason?: 'no_answer';
}
/** SDP offer or answer for the other party's device (also mid-call renegotiation). */
export interface SdpCommand {
  type: 'call:offer' | 'call:answer';
  call: CallSelector;
  sdp: string;
}
/** A trickled ICE candidate for the other party's device. */
export interface IceCommand {
  type: 'call:ice';
  call: CallSelector;
  candidate: IceCandidate | null;
}
/** video_call's handled_answer sent by a client: relayed to the sender's other devices. */
export interface HandledCommand {
  type: 'call:handled';
  call: CallSelector;
}

/** Commands of the 1:1 call engine. */
export type CallCommand =
  | InviteCommand
  | AcceptCommand
  | RejectCommand
  | HangupCommand
  | SdpCommand
  | IceCommand
  | HandledCommand;

/** Commands that are relayed device to device after accept. */
export type RelayCommand = SdpCommand | IceCommand;

/** Every canonical command a dialect can produce. */
export type Command = CallCommand;

/** The canonical command type names. */
export type CommandType = Command['type'];
