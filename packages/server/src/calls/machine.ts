import { AppError, type CallSelector, type DeviceRef, type EndReason } from '@parley/protocol';
import {
  endedEvent,
  type CallInput,
  type CallState,
  type CallSummary,
  type Effect,
  type SendEffect,
  type StartInput,
  type Transition,
} from './state.ts';

/**
 * The 1:1 call state machine: pure functions of (state, input, now). No sockets, no timers,
 * no I/O; the engine carries out the effects. States: ringing → accepted → ended.
 */

const sameDevice = (a: DeviceRef | null, b: DeviceRef): boolean =>
  a !== null && a.deviceId === b.deviceId;

const base = (s: CallState) => ({
  callId: s.callId,
  caller: s.caller.userId,
  callee: s.callee,
  media: s.media,
});

function refuse(state: CallState, error: AppError): Transition {
  return { state, effects: [], error };
}

/** Ends the call and announces it to `recipients` once the record is written. */
function end(
  s: CallState,
  reason: EndReason,
  by: string | null,
  now: number,
  recipients: readonly DeviceRef[],
  extra: readonly SendEffect[] = [],
): Transition {
  const state: CallState = {
    ...s,
    phase: 'ended',
    ringing: [],
    endedAt: now,
    ringEndedAt: s.ringEndedAt ?? now,
    endReason: reason,
    endedBy: by,
  };
  const ev = endedEvent(state);
  const announce: SendEffect[] = recipients.map((to) => ({ kind: 'send', to, event: ev }));
  const effects: Effect[] = [];
  if (s.phase === 'ringing') effects.push({ kind: 'ring_timer', on: false });
  effects.push({ kind: 'finish', announce: [...announce, ...extra] });
  return { state, effects };
}

/** Starts a call: rings every device of the callee, or ends at once (offline, busy). */
export function startCall(input: StartInput, now: number): Transition {
  const state: CallState = {
    callId: input.callId,
    media: input.media,
    caller: input.caller,
    callee: input.callee,
    phase: 'ringing',
    keepCalling: input.keepCalling,
    ringing: input.calleeDevices,
    answeredBy: null,
    createdAt: now,
    acceptedAt: null,
    endedAt: null,
    ringEndedAt: null,
    endReason: null,
    endedBy: null,
  };
  if (input.calleeBusy) {
    const t = end({ ...state, ringing: [] }, 'busy', input.callee, now, [input.caller]);
    return { state: t.state, effects: [{ kind: 'persist_created' }, ...t.effects] };
  }
  if (input.calleeDevices.length === 0 && !input.keepCalling) {
    const t = end(state, 'offline', null, now, [input.caller]);
    return { state: t.state, effects: [{ kind: 'persist_created' }, ...t.effects] };
  }
  const effects: Effect[] = [{ kind: 'persist_created' }, { kind: 'ring_timer', on: true }];
  for (const d of input.calleeDevices) effects.push(incoming(state, d));
  effects.push({
    kind: 'send',
    to: input.caller,
    event: { type: 'call:ringing', ...base(state), devices: input.calleeDevices.length },
  });
  return { state, effects };
}

function incoming(s: CallState, to: DeviceRef): SendEffect {
  return {
    kind: 'send',
    to,
    event: { type: 'call:incoming', ...base(s), callerName: s.caller.name, callerDevice: s.caller },
  };
}

/** Feeds one input to a live call. Refused inputs leave the state as it was. */
export function transition(s: CallState, input: CallInput, now: number): Transition {
  if (s.phase === 'ended') {
    // Engine inputs (not commands) are no-ops once ended; only commands are refused.
    return input.type === 'device_online' ||
      input.type === 'device_lost' ||
      input.type === 'ring_timeout' ||
      input.type === 'abort'
      ? { state: s, effects: [] }
      : refuse(s, AppError.invalidState('call has ended', { callId: s.callId }));
  }
  switch (input.type) {
    case 'accept':
    case 'reject':
      return answer(s, input.device, input.type === 'accept', now);
    case 'hangup':
      return hangup(s, input.device, input.reason, now);
    case 'ring_timeout':
      return s.phase === 'ringing'
        ? end(s, 'no_answer', null, now, [s.caller, ...s.ringing])
        : { state: s, effects: [] };
    case 'device_online':
      return deviceOnline(s, input.device);
    case 'device_lost':
      return deviceLost(s, input.device, now);
    case 'abort':
      return end(s, input.reason, null, now, parties(s));
  }
}

/** Everyone who hears about the call now: the caller's device and the callee's live devices. */
function parties(s: CallState): DeviceRef[] {
  return s.answeredBy ? [s.caller, s.answeredBy] : [s.caller, ...s.ringing];
}

function answer(s: CallState, device: DeviceRef, accepted: boolean, now: number): Transition {
  if (device.userId !== s.callee) return refuse(s, AppError.notInCall(s.callId));
  if (s.phase !== 'ringing') {
    return refuse(s, AppError.invalidState('call was already answered', { callId: s.callId }));
  }
  const others = s.ringing.filter((d) => d.deviceId !== device.deviceId);
  const elsewhere: SendEffect[] = others.map((to) => ({
    kind: 'send',
    to,
    event: {
      type: 'call:answered_elsewhere',
      ...base(s),
      accepted,
      by: device,
      fromClientType: device.clientType,
      timetag: now,
    },
  }));
  if (!accepted) return end(s, 'rejected', device.userId, now, [s.caller], elsewhere);
  const state: CallState = {
    ...s,
    phase: 'accepted',
    ringing: [],
    answeredBy: device,
    acceptedAt: now,
    ringEndedAt: now,
  };
  return {
    state,
    effects: [
      { kind: 'ring_timer', on: false },
      { kind: 'persist_accepted' },
      { kind: 'send', to: s.caller, event: { type: 'call:accepted', ...base(s), by: device } },
      ...elsewhere,
    ],
  };
}

function hangup(
  s: CallState,
  device: DeviceRef,
  reason: 'no_answer' | undefined,
  now: number,
): Transition {
  const isCaller = sameDevice(s.caller, device);
  if (s.phase === 'ringing') {
    if (device.userId === s.callee) {
      // The caller and the callee's other ringing devices hear it; the sender is not echoed.
      return reason === 'no_answer'
        ? end(s, 'no_answer', null, now, [
            s.caller,
            ...s.ringing.filter((d) => d.deviceId !== device.deviceId),
          ])
        : answer(s, device, false, now);
    }
    if (!isCaller) return refuse(s, AppError.notInCall(s.callId));
    return reason === 'no_answer'
      ? end(s, 'no_answer', null, now, [...s.ringing])
      : end(s, 'cancelled', device.userId, now, [...s.ringing]);
  }
  if (isCaller) return end(s, 'hangup', device.userId, now, [s.answeredBy!]);
  if (sameDevice(s.answeredBy, device)) return end(s, 'hangup', device.userId, now, [s.caller]);
  return refuse(s, AppError.notInCall(s.callId));
}

function deviceOnline(s: CallState, device: DeviceRef): Transition {
  if (
    s.phase !== 'ringing' ||
    !s.keepCalling ||
    device.userId !== s.callee ||
    s.ringing.some((d) => d.deviceId === device.deviceId)
  ) {
    return { state: s, effects: [] };
  }
  return { state: { ...s, ringing: [...s.ringing, device] }, effects: [incoming(s, device)] };
}

function deviceLost(s: CallState, device: DeviceRef, now: number): Transition {
  if (sameDevice(s.caller, device)) {
    return end(s, 'disconnected', s.caller.userId, now, s.answeredBy ? [s.answeredBy] : s.ringing);
  }
  if (sameDevice(s.answeredBy, device)) {
    return end(s, 'disconnected', s.callee, now, [s.caller]);
  }
  if (s.phase === 'ringing' && s.ringing.some((d) => d.deviceId === device.deviceId)) {
    const ringing = s.ringing.filter((d) => d.deviceId !== device.deviceId);
    if (ringing.length === 0 && !s.keepCalling) {
      return end({ ...s, ringing }, 'offline', null, now, [s.caller]);
    }
    return { state: { ...s, ringing }, effects: [] };
  }
  return { state: s, effects: [] };
}

/**
 * Glare: `caller` invites `callee` while a call from `callee` to `caller` is still ringing.
 * Parley resolves it to the call that already exists: the second invite counts as that call's
 * accept by the inviting device. Returns the call to accept, if any.
 */
export function findGlare<T extends CallState | CallSummary>(
  live: Iterable<T>,
  caller: string,
  callee: string,
): T | undefined {
  for (const c of live) {
    if (c.phase === 'ringing' && callerOf(c) === callee && c.callee === caller) return c;
  }
  return undefined;
}

/** The calling user of a live call, from its state or its summary. */
const callerOf = (c: CallState | CallSummary): string =>
  typeof c.caller === 'string' ? c.caller : c.caller.userId;

/**
 * The call a selector without a call id names, among `live` (the sender's live calls):
 * `{caller, callee}` or `{peer}`. The answered call is preferred; among ringing ones the last.
 * Throws forbidden when the sender is neither party of `{caller, callee}`, not_found when
 * nothing matches.
 */
export function selectCall<T extends CallState | CallSummary>(
  live: Iterable<T>,
  sender: string,
  sel: Exclude<CallSelector, { callId: string }>,
): T {
  let match: (s: T) => boolean;
  if ('peer' in sel) {
    match = (s) =>
      (callerOf(s) === sender && s.callee === sel.peer) ||
      (callerOf(s) === sel.peer && s.callee === sender);
  } else {
    if (sender !== sel.caller && sender !== sel.callee) {
      throw AppError.forbidden('sender is neither the caller nor the callee');
    }
    match = (s) => callerOf(s) === sel.caller && s.callee === sel.callee;
  }
  let found: T | undefined;
  for (const call of live) {
    if (match(call) && (!found || call.phase === 'accepted' || found.phase !== 'accepted')) {
      found = call;
    }
  }
  if (!found) throw AppError.notFound('call');
  return found;
}
