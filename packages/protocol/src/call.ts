/** Media of a call. netcall's `type` maps 1 → audio, 2 → video. */
export type Media = 'audio' | 'video';

/** Lifecycle of a 1:1 call. */
export type CallPhase = 'ringing' | 'accepted' | 'ended';

/**
 * Why a call ended. `answered_elsewhere` is never a call's own end reason: it is what a
 * callee's other devices are told when one device answered.
 */
export type EndReason =
  | 'rejected'
  | 'busy'
  | 'no_answer'
  | 'cancelled'
  | 'hangup'
  | 'offline'
  | 'disconnected'
  | 'failed'
  | 'shutdown'
  | 'node_lost'
  /** The node died without warning (kill -9) and ended the call when it started again. */
  | 'node_restart'
  /** An administrator ended it (`POST /api/admin/calls/:callId/end`). */
  | 'admin';

/** Every end reason, for validation and tables. */
export const END_REASONS: readonly EndReason[] = [
  'rejected',
  'busy',
  'no_answer',
  'cancelled',
  'hangup',
  'offline',
  'disconnected',
  'failed',
  'shutdown',
  'node_lost',
  'node_restart',
  'admin',
];

/** The kinds of client a device declares on connect (`?clientType=`). */
export type ClientType = string;

/** One connection of a user. `deviceId` is assigned by the server. */
export interface DeviceRef {
  userId: string;
  deviceId: string;
  clientType: ClientType;
}

/** The call detail record as clients receive it (netcall's 话单). */
export interface CallRecord {
  callId: string;
  caller: string;
  callee: string;
  media: Media;
  /** accepted → the call connected; otherwise the outcome. */
  status: 'completed' | 'missed' | 'rejected' | 'busy' | 'cancelled' | 'failed';
  reason: EndReason;
  /** ISO time the invite was made. */
  createdAt: string;
  /** ISO time the call was answered, if it was. */
  startedAt: string | null;
  /** ISO time the call ended. */
  endedAt: string;
  /** Seconds between answer and end; 0 if never answered. */
  duration: number;
  /** Milliseconds the callee's devices rang. */
  ringMs: number;
  answeredBy: { deviceId: string; clientType: ClientType } | null;
  /** ISO time a party's device reported its media connected (`call:media`), if one did. */
  mediaConnectedAt: string | null;
  /** Why a party's device reported its media failed, if it did and none connected. */
  mediaFailedReason: string | null;
}
