import type { DeviceRef, Media } from '@parley/protocol';

/**
 * Where an answered call's signaling goes: its two devices and the nodes they are connected to.
 * The owner sends it to both nodes when the call is answered, so that offer, answer and ICE go
 * from one party's node straight to the other's (one bus hop) instead of through the owner.
 */
export interface CallRoute {
  callId: string;
  media: Media;
  caller: DeviceRef;
  callee: string;
  answeredBy: DeviceRef;
  callerNode: string;
  answerNode: string;
  /** Epoch ms the call was invited (call setup time is measured at the first answer). */
  createdAt: number; /** The owner delivered the caller's offer held while ringing: ICE need not wait for one. */
  offerRelayed?: true;
}
