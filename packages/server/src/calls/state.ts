import type {
  AppError,
  CallEvent,
  CallPhase,
  DeviceRef,
  EndReason,
  EndedEvent,
  Media,
} from '@parley/protocol';
import type { CallSummary } from '../core/index.ts';

export type { CallSummary } from '../core/index.ts';

/** The caller's device, with the nickname the callee is shown. */
export interface CallerRef extends DeviceRef {
  name: string;
}

/** Everything the engine knows about one 1:1 call. Plain data: the machine never mutates it. */
export interface CallState {
  readonly callId: string;
  readonly media: Media;
  readonly caller: CallerRef;
  readonly callee: string;
  readonly phase: CallPhase;
  readonly keepCalling: boolean;
  /** Callee devices that are ringing now. Empty once answered or ended. */
  readonly ringing: readonly DeviceRef[];
  readonly answeredBy: DeviceRef | null;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly acceptedAt: number | null;
  readonly endedAt: number | null;
  /** When ringing stopped (answer, reject or end), for ring-time accounting. */
  readonly ringEndedAt: number | null;
  readonly endReason: EndReason | null;
  readonly endedBy: string | null;
}

/** The summary of a call's state. */
export function summaryOf(s: CallState): CallSummary {
  return { callId: s.callId, caller: s.caller.userId, callee: s.callee, phase: s.phase };
}

/** What a call is asked to start with. */
export interface StartInput {
  callId: string;
  media: Media;
  caller: CallerRef;
  callee: string;
  keepCalling: boolean;
  /** The callee's online devices right now. */
  calleeDevices: readonly DeviceRef[];
  /** The callee is already in a call and the busy policy is `reject`. */
  calleeBusy: boolean;
}

/** Inputs to a live call. `device` is always the authenticated sender's device. */
export type CallInput =
  | { type: 'accept'; device: DeviceRef }
  | { type: 'reject'; device: DeviceRef }
  | { type: 'hangup'; device: DeviceRef; reason?: 'no_answer' }
  | { type: 'ring_timeout' }
  | { type: 'device_online'; device: DeviceRef }
  | { type: 'device_lost'; device: DeviceRef }
  | { type: 'abort'; reason: 'shutdown' | 'node_lost' | 'failed' | 'admin' };

/** Send one event to one device. */
export interface SendEffect {
  kind: 'send';
  to: DeviceRef;
  event: CallEvent;
}

/**
 * What the engine must do after a transition, in order. `finish` is special: the engine
 * persists the end first and only then performs `announce`, so a record exists before anyone
 * hears that the call ended.
 */
export type Effect =
  | SendEffect
  | { kind: 'persist_created' }
  | { kind: 'persist_accepted' }
  | { kind: 'ring_timer'; on: boolean }
  | { kind: 'finish'; announce: readonly SendEffect[] };

/** The result of feeding an input to the machine. */
export interface Transition {
  state: CallState;
  effects: readonly Effect[];
  /** Set when the input was refused; `state` is then unchanged and `effects` empty. */
  error?: AppError;
}

/** The end notice for one recipient. */
export function endedEvent(s: CallState): EndedEvent {
  return {
    type: 'call:ended',
    callId: s.callId,
    caller: s.caller.userId,
    callee: s.callee,
    media: s.media,
    reason: s.endReason ?? 'failed',
    by: s.endedBy,
  };
}
