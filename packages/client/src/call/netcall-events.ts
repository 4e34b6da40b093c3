import type { CallRecord, EndReason } from '@parley/protocol';
import type { MediaConnectionState, MediaConstraints } from './peer-handler.ts';
import type { CallQuality } from './quality.ts';

/**
 * The shapes of specs/netcall-sdk.md: the options of its calls and the data of its events, as
 * the spec names them (a contract). NetCall (netcall.ts) raises them from its Call objects.
 */

/** netcall's call type: 1 audio, 2 video. */
export type NetCallType = 1 | 2;

/**
 * `netcall.call()` (specs/netcall-sdk.md). The account (user id) to call is `account`, as the
 * spec's parameter table names it, or `callee`, as its example does.
 */
export type CallOptions = {
  /** The call type, a plain number as in the spec: 1 audio, 2 video (others: `bad_request`). */
  type: number;
  /** Keep ringing devices the callee connects while the call rings. */
  forceKeepCalling?: boolean;
} & ({ account: string; callee?: string } | { callee: string; account?: string });

/** `netcall.response()`: the `beCalling` data, and whether to accept. */
export interface ResponseOptions {
  accepted: boolean;
  caller: string;
  /** The call's type as `beCalling` gave it; the call keeps the type it rang with. */
  type: number;
  cid: string;
}

/** `netcall.startRtc()`: the spec's `mode`, and camera/microphone constraints for this call. */
export interface StartRtcOptions extends MediaConstraints {
  /**
   * How this device joins the call's media: 0 or the call's type (1 audio, 2 video), which is
   * what the spec's examples pass. Parley joins both parties with the call's media, so any
   * other value is refused (`bad_request`).
   */
  mode?: number;
}

/**
 * When an event happened, as the spec types it: a string, the epoch milliseconds in decimal
 * (`Number(timetag)` gives the number back).
 */
export type TimeTag = string;

/** `beCalling`: a call rings this device. */
export interface BeCallingEvent {
  caller: string;
  /** The caller's nickname. */
  callerName: string;
  type: NetCallType;
  cid: string;
  /** The caller's device kind (web, ios, ...). */
  fromClientType: string;
  timetag: TimeTag;
}

/** `callAccepted`: the callee answered the call this device placed. */
export interface CallAcceptedEvent {
  /** The callee. */
  account: string;
  type: NetCallType;
  cid: string;
  /** The answering device's kind. */
  fromClientType: string;
  timetag: TimeTag;
}

/** `callRejected`: the callee declined, or was busy. */
export interface CallRejectedEvent {
  account: string;
  type: NetCallType;
  cid: string;
  reason: 'rejected' | 'busy';
  timetag: TimeTag;
}

/** `callerAckSync`: another device of this user answered a call that rang here too. */
export interface CallerAckSyncEvent {
  timetag: TimeTag;
  cid: string;
  type: NetCallType;
  accepted: boolean;
  fromClientType: string;
}

/** `hangup`: the call ended on the other side or on the server (any reason but a rejection). */
export interface HangupEvent {
  timetag: TimeTag;
  cid: string;
  /** The other party. */
  account: string;
  reason: EndReason;
}

/** A member of the call's media (`syncDone`'s userlist, `clientJoin`). */
export interface NetCallUser {
  account: string;
  /** The member's device id. */
  uid: string;
  /** The media the member joined with: the call's type (1 audio, 2 video). */
  mode: NetCallType;
  /**
   * Not a stream address (Parley's media is a `MediaStream`: `localStream`, `clientJoin.stream`)
   * but the name of the member's media in this call, `parley:<cid>/<uid>`: the same in
   * `syncDone`, `clientJoin` and `clientLeave`, so an app can key its players by it.
   */
  url: string;
}

/** An entry of `syncDone`'s userlist. */
export interface SyncDoneUser extends NetCallUser {
  /** Always '': there is no push stream to authorise (the media goes over DTLS-SRTP). */
  pusher_secret: string;
  /** Always 0: a 1:1 call (meetings are not netcall). */
  scene: number;
}

/**
 * `syncDone`: startRtc joined the call's media. `userlist` is who is in it: this device first
 * (its `url` names the local media, the spec's live-pusher), then the other party's answering
 * device once the call is answered (the live-player).
 */
export interface SyncDoneEvent {
  code: 200;
  errmsg: '';
  userlist: SyncDoneUser[];
}

/** `clientJoin`: the other party's media arrived. */
export interface ClientJoinEvent extends NetCallUser {
  cid: string;
  stream: MediaStream;
}

/** `clientLeave`: the other party's media is gone (the call ended). */
export interface ClientLeaveEvent {
  account: string;
  uid: string;
  /** The member's device id again (the spec names it both `uid` and `id`). */
  id: string;
  cid: string;
  /** As in `clientJoin`. */
  url: string;
}

/** `callEnded` (beyond the spec): every end of the current call, local or remote. */
export interface CallEndedEvent {
  cid: string;
  reason: EndReason;
  /** The user whose action ended it, if any. */
  by: string | null;
}

/** Events of the call API. */
export type NetCallEvents = {
  beCalling: [BeCallingEvent];
  callAccepted: [CallAcceptedEvent];
  callRejected: [CallRejectedEvent];
  callerAckSync: [CallerAckSyncEvent];
  hangup: [HangupEvent];
  syncDone: [SyncDoneEvent];
  clientJoin: [ClientJoinEvent];
  clientLeave: [ClientLeaveEvent];
  /** The call detail record of any call of this user (netcall 话单). */
  callRecord: [CallRecord];
  /** The callee's devices ring (how many). */
  ringing: [{ cid: string; devices: number }];
  callEnded: [CallEndedEvent];
  /** The local camera/microphone stream. */
  localStream: [MediaStream];
  /** The media connection state of the current call. */
  mediaState: [MediaConnectionState];
  /** A quality reading every two seconds while the media is connected. */
  quality: [CallQuality];
};

/** What startRtc resolves with: this device in the call. */
export interface RtcInfo {
  /** This device's id. */
  uid: string;
  account: string;
  cid: string;
}
