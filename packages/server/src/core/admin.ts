import type { CallPhase, DeviceRef, EndReason, Media, RtcPeerInfo } from '@parley/protocol';

/**
 * One revocation of tokens: one token by its `jti` (kept until it would have expired anyway),
 * or every token of a user issued before `before` (epoch ms).
 */
export type Revocation =
  | { kind: 'jti'; jti: string; expiresAt: number }
  | { kind: 'user'; userId: string; before: number };

/** A live 1:1 call as the admin API lists it. */
export interface LiveCallView {
  callId: string;
  media: Media;
  caller: DeviceRef;
  callee: string;
  phase: CallPhase;
  answeredBy: DeviceRef | null;
  /** ISO times. */
  createdAt: string;
  acceptedAt: string | null;
  /** The node that owns the call. */
  node: string;
}

/** A call the admin API ended. */
export interface EndedCallView {
  callId: string;
  reason: EndReason;
}

/**
 * What an administrator has one node do, on the node that holds the thing: its live calls, a
 * call it owns, a device connected to it, a meeting's media room it holds.
 */
export type AdminOp =
  | { op: 'calls' }
  | { op: 'end-call'; callId: string }
  | { op: 'disconnect'; deviceId: string }
  | { op: 'media'; meetingId: string }
  | { op: 'mute'; meetingId: string; producerId: string; allowUnmute: boolean };

/** What each AdminOp answers. */
export interface AdminResults {
  calls: LiveCallView[];
  'end-call': EndedCallView;
  disconnect: { deviceId: string; disconnected: boolean };
  media: { peers: RtcPeerInfo[] };
  mute: { producerId: string; peerId: string; allowUnmute: boolean };
}

/** The other nodes, for the admin API (a single node has none). */
export interface AdminPeers {
  /** Every live node, this one included. */
  nodes(): string[];
  /** Runs `op` on `nodeId`; rejects with its typed error, or when the node does not answer. */
  ask<O extends AdminOp>(nodeId: string, op: O): Promise<AdminResults[O['op']]>;
}
