import type { CallEvent, DeviceRef, EndReason, IncomingEvent, Media } from '@parley/protocol';
import type { CallEmit, CallEndReason, CallMember } from './call-events.ts';
import type { MediaConnectionState, PeerSignal } from './peer-handler.ts';

/**
 * One call on this device as a pure state machine (the server's calls/machine.ts is the model):
 * `transition(state, input, now)` gives the next state and the effects to carry out. No
 * sockets, no timers, no WebRTC: {@link Call} owns those and runs the effects.
 *
 * Phases: the caller goes inviting → ringing → accepted, the callee incoming → accepted; every
 * path ends in `ended`, where every input is ignored.
 */

/** Where a call is. `inviting`: our invite is not acknowledged yet (no call id). */
export type CallPhase = 'inviting' | 'ringing' | 'incoming' | 'accepted' | 'ended';

/** Which side of the call this device is. */
export type CallRole = 'caller' | 'callee';

/** The state of one call. */
export interface CallState {
  readonly cid: string;
  readonly media: Media;
  readonly role: CallRole;
  /** The other party (a user id). */
  readonly peer: string;
  readonly phase: CallPhase;
  /** The other party's device, once known. */
  readonly remote: DeviceRef | null;
  /** startRtc: not yet, opening the local media, or up (signals go straight to the media). */
  readonly rtc: 'off' | 'starting' | 'live';
  /** The other party's media arrived. */
  readonly joined: boolean;
  readonly mediaState: MediaConnectionState;
  /** What this device told the server of the media (`call:media`): connected is final. */
  readonly mediaReported: 'connected' | 'failed' | null;
  /** Signals made before the call was answered; sent on the answer. */
  readonly outbox: readonly PeerSignal[];
  /** Signals received before the media was up; applied once it is. */
  readonly inbox: readonly PeerSignal[];
  /** Events of our invite that came before its acknowledgement; replayed after it. */
  readonly early: readonly CallEvent[];
  readonly end: { reason: CallEndReason; by: string | null } | null;
}

/** What happens to a call. */
export type CallInput =
  /** Our invite was acknowledged; `glare`: it answered the other's call to us instead. */
  | { type: 'invited'; cid: string; glare: { by: DeviceRef | null } | null }
  /** An event of this call from the server. */
  | { type: 'server'; event: CallEvent }
  /** This device answers the call ringing here. */
  | { type: 'accept' }
  /** This device hangs up: cancels a ringing call, rejects an incoming one. */
  | { type: 'hangup'; by: string }
  /** A request this call depends on failed (invite, accept, the camera). */
  | { type: 'fail' }
  | { type: 'rtc_starting' }
  /** The local media is open: `self` is this device in the call. */
  | { type: 'rtc_live'; self: CallMember }
  /** The media made a signal for the other party. */
  | { type: 'local_signal'; signal: PeerSignal }
  | { type: 'remote_stream'; stream: MediaStream }
  | { type: 'media_state'; state: MediaConnectionState }
  /** The media did not connect in time after startRtc. */
  | { type: 'media_timeout' }
  /** This device's session is gone: the call is over here. */
  | { type: 'lost' }
  /** The signaling connection resumed. */
  | { type: 'resumed' }
  | { type: 'network_changed' };

/** What {@link Call} does for a transition. */
export type CallEffect =
  | CallEmit
  /** Send a signal to the other party. */
  | { kind: 'send'; signal: PeerSignal }
  /** Apply a signal from the other party to the media. */
  | { kind: 'apply'; signal: PeerSignal }
  /** Tell the server the media connected (at `at`) or failed (`call:media`). */
  | { kind: 'report'; state: 'connected'; at: number }
  | { kind: 'report'; state: 'failed'; reason: 'ice_failed' | 'ice_timeout' }
  /** Arm or clear the media timeout. */
  | { kind: 'media_timer'; on: boolean }
  /** Start or stop the quality readings. */
  | { kind: 'quality'; on: boolean }
  | { kind: 'restart_ice' }
  /** Discard the media readied as the caller (glare: the other side offers). */
  | { kind: 'drop_media' }
  /** Close the media and release the devices. */
  | { kind: 'close_media' };

/** A transition's result. */
export interface CallTransition {
  state: CallState;
  effects: CallEffect[];
}

const fresh = {
  cid: '',
  remote: null,
  rtc: 'off',
  joined: false,
  mediaState: 'new',
  mediaReported: null,
  outbox: [],
  inbox: [],
  early: [],
  end: null,
} as const;

/** A call this device places to `callee`. */
export function outgoingCall(callee: string, media: Media): CallState {
  return { ...fresh, media, role: 'caller', peer: callee, phase: 'inviting' };
}

/** A call ringing this device. */
export function incomingCall(e: IncomingEvent): CallState {
  return {
    ...fresh,
    cid: e.callId,
    media: e.media,
    role: 'callee',
    peer: e.caller,
    phase: 'incoming',
    remote: e.callerDevice,
  };
}

const same = (state: CallState): CallTransition => ({ state, effects: [] });
const emit = (e: Omit<CallEmit, 'kind'>): CallEmit => ({ kind: 'emit', ...e }) as CallEmit;
const REJECTIONS: ReadonlySet<EndReason> = new Set(['rejected', 'busy']);

/** The other party's device as a member of the call. */
function remoteMember(s: CallState): CallMember {
  return { account: s.peer, uid: s.remote?.deviceId ?? '' };
}

/** Whether the server's end of a call is the callee declining it, as the caller sees it. */
export function isRejection(role: CallRole, reason: EndReason): reason is 'rejected' | 'busy' {
  return role === 'caller' && REJECTIONS.has(reason);
}

/** Feeds one input to a call. */
export function transition(s: CallState, input: CallInput, now: number): CallTransition {
  if (s.phase === 'ended') return same(s);
  switch (input.type) {
    case 'invited':
      return invited(s, input.cid, input.glare, now);
    case 'server':
      return fromServer(s, input.event, now);
    case 'accept':
      return s.phase === 'incoming' ? same({ ...s, phase: 'accepted' }) : same(s);
    case 'hangup': {
      const reason =
        s.phase === 'accepted' ? 'hangup' : s.phase === 'incoming' ? 'rejected' : 'cancelled';
      return end(s, reason, input.by);
    }
    case 'fail':
      return end(s, 'failed', null);
    case 'rtc_starting':
      return s.phase === 'accepted' && s.rtc === 'off' ? same({ ...s, rtc: 'starting' }) : same(s);
    case 'rtc_live':
      return s.rtc === 'starting' ? live(s, input.self) : same(s);
    case 'local_signal':
      if (s.phase === 'accepted') return { state: s, effects: [send(input.signal)] };
      return same({ ...s, outbox: [...s.outbox, input.signal] });
    case 'remote_stream':
      if (s.joined) return same(s);
      return {
        state: { ...s, joined: true },
        effects: [
          emit({ name: 'remoteStream', data: { member: remoteMember(s), stream: input.stream } }),
        ],
      };
    case 'media_state':
      return mediaState(s, input.state, now);
    case 'media_timeout': {
      if (s.mediaState === 'connected' || s.mediaReported) return same(s);
      const failed = { ...s, mediaState: 'failed' as const };
      const t = report(failed, 'failed', 'ice_timeout', now);
      return {
        state: t.state,
        effects: [emit({ name: 'mediaState', data: 'failed' }), ...t.effects],
      };
    }
    case 'lost':
      return endedBy(s, 'disconnected', null, now);
    case 'resumed':
      // Media does not need the signaling socket; only a connection that suffered restarts.
      return s.rtc === 'live' && s.mediaState !== 'connected' ? restart(s) : same(s);
    case 'network_changed':
      return s.rtc === 'live' ? restart(s) : same(s);
  }
}

const send = (signal: PeerSignal): CallEffect => ({ kind: 'send', signal });
const restart = (state: CallState): CallTransition => ({
  state,
  effects: [{ kind: 'restart_ice' }],
});

function invited(
  s: CallState,
  cid: string,
  glare: { by: DeviceRef | null } | null,
  now: number,
): CallTransition {
  if (s.phase !== 'inviting') return same(s);
  let t: CallTransition = { state: { ...s, cid, phase: 'ringing', early: [] }, effects: [] };
  if (glare) {
    // Our invite answered the other's ringing call to us: we are its callee now, and the
    // media readied as the caller goes (the other side offers; startRtc answers it).
    t = {
      state: { ...t.state, role: 'callee', phase: 'accepted', remote: glare.by, outbox: [] },
      effects: [
        { kind: 'drop_media' },
        emit({
          name: 'accepted',
          data: {
            by: glare.by,
            fromClientType: glare.by?.clientType ?? 'web',
            at: now,
            glare: true,
          },
        }),
      ],
    };
  }
  for (const event of s.early) {
    const next = transition(t.state, { type: 'server', event }, now);
    t = { state: next.state, effects: [...t.effects, ...next.effects] };
  }
  return t;
}

function fromServer(s: CallState, e: CallEvent, now: number): CallTransition {
  if (s.phase === 'inviting') return same({ ...s, early: [...s.early, e] });
  switch (e.type) {
    case 'call:ringing':
      return s.phase === 'ringing'
        ? { state: s, effects: [emit({ name: 'ringing', data: { devices: e.devices } })] }
        : same(s);
    case 'call:accepted':
      if (s.phase !== 'ringing') return same(s);
      return {
        state: { ...s, phase: 'accepted', remote: e.by, outbox: [] },
        effects: [
          ...s.outbox.map(send),
          emit({
            name: 'accepted',
            data: { by: e.by, fromClientType: e.by.clientType, at: now, glare: false },
          }),
        ],
      };
    case 'call:offer':
    case 'call:answer':
    case 'call:ice': {
      const signal: PeerSignal =
        e.type === 'call:ice'
          ? { kind: 'ice', candidate: e.candidate }
          : { kind: e.type === 'call:offer' ? 'offer' : 'answer', sdp: e.sdp };
      if (s.rtc === 'live') return { state: s, effects: [{ kind: 'apply', signal }] };
      return same({ ...s, inbox: [...s.inbox, signal] });
    }
    case 'call:answered_elsewhere': {
      if (s.phase !== 'incoming') return same(s);
      const t = end(s, 'answered_elsewhere', e.by.userId);
      const data = { accepted: e.accepted, fromClientType: e.fromClientType, at: e.timetag };
      return { state: t.state, effects: [emit({ name: 'answeredElsewhere', data }), ...t.effects] };
    }
    case 'call:ended':
      return endedBy(s, e.reason, e.by, now);
    default:
      return same(s);
  }
}

/** startRtc has the local media up: announce the members, arm the timeout, apply the inbox. */
function live(s: CallState, self: CallMember): CallTransition {
  const effects: CallEffect[] = [
    emit({ name: 'joined', data: { self, remote: s.remote ? remoteMember(s) : null } }),
  ];
  if (s.mediaState !== 'connected') effects.push({ kind: 'media_timer', on: true });
  for (const signal of s.inbox) effects.push({ kind: 'apply', signal });
  return { state: { ...s, rtc: 'live', inbox: [] }, effects };
}

function mediaState(s: CallState, state: MediaConnectionState, now: number): CallTransition {
  const effects: CallEffect[] = [emit({ name: 'mediaState', data: state })];
  if (state === 'connected') {
    effects.push({ kind: 'media_timer', on: false }, { kind: 'quality', on: true });
  }
  let next: CallState = { ...s, mediaState: state };
  if (state === 'connected' || state === 'failed') {
    const t = report(next, state, 'ice_failed', now);
    next = t.state;
    effects.push(...t.effects);
  }
  return { state: next, effects };
}

/**
 * Tells the server that the media connected or failed: it cannot see peer-to-peer media, and
 * counts the call's success, connection time and errors from this. Once connected, later
 * failures are the quality monitor's business, not the call's outcome.
 */
function report(
  s: CallState,
  state: 'connected' | 'failed',
  reason: 'ice_failed' | 'ice_timeout',
  now: number,
): CallTransition {
  if (s.mediaReported === 'connected' || s.mediaReported === state) return same(s);
  const effect: CallEffect =
    state === 'connected' ? { kind: 'report', state, at: now } : { kind: 'report', state, reason };
  return { state: { ...s, mediaReported: state }, effects: [effect] };
}

/** The other party or the server ended the call: say so, then end it here. */
function endedBy(s: CallState, reason: EndReason, by: string | null, now: number): CallTransition {
  const t = end(s, reason, by);
  return {
    state: t.state,
    effects: [emit({ name: 'hangup', data: { reason, by, at: now } }), ...t.effects],
  };
}

/** Ends the call here: timers stopped, media closed, the other's media gone, then `ended`. */
function end(s: CallState, reason: CallEndReason, by: string | null): CallTransition {
  const effects: CallEffect[] = [
    { kind: 'media_timer', on: false },
    { kind: 'quality', on: false },
    { kind: 'close_media' },
  ];
  if (s.joined) effects.push(emit({ name: 'remoteLeft', data: remoteMember(s) }));
  effects.push(emit({ name: 'ended', data: { reason, by } }));
  return {
    state: { ...s, phase: 'ended', outbox: [], inbox: [], early: [], end: { reason, by } },
    effects,
  };
}
