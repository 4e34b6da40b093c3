import { AppError, type CallPhase, type DeviceRef } from '@parley/protocol';

/** What the relay check reads of a call: the engine's state, or a route on another node. */
export interface SignalView {
  readonly callId: string;
  readonly phase: CallPhase;
  readonly caller: DeviceRef;
  /** The callee's userId. */
  readonly callee: string;
  /** The callee's device that answered; null until then. */
  readonly answeredBy: DeviceRef | null;
}

/**
 * Who may send offer/answer/ICE to whom: after accept, only the caller's device and the device
 * that answered, each to the other. Everyone else, including the parties' other devices, is
 * refused. Returns the target device.
 */
export function signalTarget(s: SignalView, sender: DeviceRef): DeviceRef {
  if (s.phase === 'accepted' && s.answeredBy) {
    if (s.caller.deviceId === sender.deviceId) return s.answeredBy;
    if (s.answeredBy.deviceId === sender.deviceId) return s.caller;
    throw AppError.notInCall(s.callId);
  }
  const party = s.caller.deviceId === sender.deviceId || s.callee === sender.userId;
  if (!party) throw AppError.notInCall(s.callId);
  throw AppError.invalidState(
    s.phase === 'ringing' ? 'call has not been answered yet' : 'call has ended',
    { callId: s.callId },
  );
}
