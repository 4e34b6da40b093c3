import type { DeviceRef, EndReason } from '@parley/protocol';
import type { MediaConnectionState } from './peer-handler.ts';
import type { CallQuality } from './quality.ts';

/**
 * The typed events of one {@link Call} (LiveKit's Participant events are the model): what
 * happened to this call, in Parley's words. NetCall maps them onto the spec's events.
 */

/** A device in the call's media: the user and the device id. */
export interface CallMember {
  account: string;
  uid: string;
}

/** Why a call ended here: the server's reasons, or another device of this user answered it. */
export type CallEndReason = EndReason | 'answered_elsewhere';

/** How a call ended. */
export interface CallEnd {
  reason: CallEndReason;
  /** The user whose action ended it, if any. */
  by: string | null;
}

/** The callee answered (or, on glare, this device turned out to answer the other's call). */
export interface CallAnswer {
  /** The other party's device in the call, if known. */
  by: DeviceRef | null;
  /** That device's kind (web, ios, ...). */
  fromClientType: string;
  /** Epoch milliseconds. */
  at: number;
  /** Both called each other at once: this device is the call's callee now. */
  glare: boolean;
}

/** Events of a {@link Call}. Every one has a single argument. */
export type CallEvents = {
  /** The callee's devices ring (how many). */
  ringing: [{ devices: number }];
  /** The call is answered: the media can start (`startRtc`). */
  accepted: [CallAnswer];
  /** Another device of this user answered this ringing call; it no longer rings here. */
  answeredElsewhere: [{ accepted: boolean; fromClientType: string; at: number }];
  /** This device's media joined the call; `remote` is the other party's device, once known. */
  joined: [{ self: CallMember; remote: CallMember | null }];
  /** The other party's media arrived. */
  remoteStream: [{ member: CallMember; stream: MediaStream }];
  /** The other party's media is gone (the call ended). */
  remoteLeft: [CallMember];
  /** The local camera/microphone stream (also after a device switch). */
  localStream: [MediaStream];
  /** The media connection state. */
  mediaState: [MediaConnectionState];
  /** A quality reading every interval while the media is connected. */
  quality: [CallQuality];
  /**
   * The other party or the server ended the call (rejected, busy, hung up, no answer, this
   * device's session lost...): not raised for this device's own hangup. Its media goes next.
   */
  hangup: [{ reason: EndReason; by: string | null; at: number }];
  /** The call is over here, for any reason; its media is closed. Always the last event. */
  ended: [CallEnd];
};

/** An event a transition raises, as data. */
export type CallEmit = {
  [K in keyof CallEvents]: { kind: 'emit'; name: K; data: CallEvents[K][0] };
}[keyof CallEvents];
