import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CallEvent,
  CallPhase,
  DeviceRef,
  EndReason,
  ErrorCode,
  EventType,
} from '@parley/protocol';
import { findGlare, startCall, transition } from './machine.ts';
import type {
  CallInput,
  CallState,
  CallerRef,
  Effect,
  SendEffect,
  StartInput,
  Transition,
} from './state.ts';

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

const T0 = 1_000_000; // createdAt of the prepared calls
const T_ACC = 1_500_000; // acceptedAt of the prepared accepted call
const T_END = 1_800_000; // endedAt of the prepared ended call
const NOW = 2_000_000; // the `now` every transition under test runs at

const dev = (userId: string, deviceId: string, clientType: string): DeviceRef =>
  Object.freeze({ userId, deviceId, clientType });
const callerRef = (device: DeviceRef, name: string): CallerRef =>
  Object.freeze({ ...device, name });

/** The caller's device (alice). */
const A1 = callerRef(dev('alice', 'a1', 'web'), 'Alice');
/** Another device of the caller. */
const A2 = dev('alice', 'a2', 'ios');
/** Callee devices (bob): b1 and b2 ring in the prepared call; b3 was not ringing. */
const B1 = dev('bob', 'b1', 'web');
const B2 = dev('bob', 'b2', 'android');
const B3 = dev('bob', 'b3', 'desktop');
/** Someone who has nothing to do with the call. */
const C1 = dev('carol', 'c1', 'web');

/** Deep-frozen states: any mutation by the machine throws (ESM is strict mode). */
function freeze(s: CallState): CallState {
  return Object.freeze({ ...s, ringing: Object.freeze([...s.ringing]) });
}

/** alice → bob, ringing on b1 and b2, no keepCalling. */
function ringingCall(over: Partial<CallState> = {}): CallState {
  return freeze({
    callId: 'call-1',
    media: 'audio',
    caller: A1,
    callee: 'bob',
    phase: 'ringing',
    keepCalling: false,
    ringing: [B1, B2],
    answeredBy: null,
    createdAt: T0,
    acceptedAt: null,
    endedAt: null,
    ringEndedAt: null,
    endReason: null,
    endedBy: null,
    ...over,
  });
}

/** alice → bob, answered on b1. */
function acceptedCall(over: Partial<CallState> = {}): CallState {
  return ringingCall({
    phase: 'accepted',
    ringing: [],
    answeredBy: B1,
    acceptedAt: T_ACC,
    ringEndedAt: T_ACC,
    ...over,
  });
}

/** alice → bob, answered on b1, then hung up by alice. */
function endedCall(over: Partial<CallState> = {}): CallState {
  return acceptedCall({
    phase: 'ended',
    endedAt: T_END,
    endReason: 'hangup',
    endedBy: 'alice',
    ...over,
  });
}

function startInput(over: Partial<StartInput> = {}): StartInput {
  return {
    callId: 'call-1',
    media: 'audio',
    caller: A1,
    callee: 'bob',
    keepCalling: false,
    calleeDevices: [B1, B2],
    calleeBusy: false,
    ...over,
  };
}

const accept = (device: DeviceRef): CallInput => ({ type: 'accept', device });
const reject = (device: DeviceRef): CallInput => ({ type: 'reject', device });
const hangup = (device: DeviceRef): CallInput => ({ type: 'hangup', device });
const noAnswer = (device: DeviceRef): CallInput => ({
  type: 'hangup',
  device,
  reason: 'no_answer',
});
const online = (device: DeviceRef): CallInput => ({ type: 'device_online', device });
const lost = (device: DeviceRef): CallInput => ({ type: 'device_lost', device });
const RING_TIMEOUT: CallInput = { type: 'ring_timeout' };
const abort = (reason: 'shutdown' | 'node_lost' | 'failed'): CallInput => ({
  type: 'abort',
  reason,
});

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/** One send, as (recipient deviceId, event type). */
type Send = readonly [deviceId: string, type: EventType];
/** The effects that are not sends. */
type Mark = 'persist_created' | 'persist_accepted' | 'ring_timer on' | 'ring_timer off';

const endedTo = (...ids: string[]): Send[] => ids.map((id) => [id, 'call:ended'] as const);
const elsewhereTo = (...ids: string[]): Send[] =>
  ids.map((id) => [id, 'call:answered_elsewhere'] as const);

interface Row {
  name: string;
  input: CallInput;
  /** Resulting phase. */
  phase: CallPhase;
  /** Resulting endReason; omitted = unchanged from the starting state. */
  reason?: EndReason | null;
  /** Resulting endedBy; omitted = unchanged from the starting state. */
  endedBy?: string | null;
  /** The input is refused with this code: same state object, no effects. */
  error?: ErrorCode;
  /** Plain `send` effects, in order. */
  sends?: readonly Send[];
  /** The `finish` effect's announce list, in order; omitted = no `finish` effect. */
  announce?: readonly Send[];
  /** The other effects, in order. */
  marks?: readonly Mark[];
  /** The very same state object comes back (a no-op); otherwise a new one must. */
  same?: boolean;
  /** Callee devices ringing afterwards; omitted = not checked. */
  ringing?: readonly string[];
}

interface CaseRow extends Row {
  from: CallState;
}

const toSend = (e: SendEffect): Send => [e.to.deviceId, e.event.type];

/** Splits effects into sends, the finish announce list and the rest, checking their shape. */
function summarize(effects: readonly Effect[]): {
  sends: Send[];
  announce: Send[] | undefined;
  marks: Mark[];
} {
  const sends: Send[] = [];
  const marks: Mark[] = [];
  let announce: Send[] | undefined;
  effects.forEach((e, i) => {
    switch (e.kind) {
      case 'send':
        sends.push(toSend(e));
        break;
      case 'persist_created':
      case 'persist_accepted':
        marks.push(e.kind);
        break;
      case 'ring_timer':
        marks.push(e.on ? 'ring_timer on' : 'ring_timer off');
        break;
      case 'finish':
        assert.equal(announce, undefined, 'at most one finish effect');
        assert.equal(i, effects.length - 1, 'finish is the last effect');
        announce = e.announce.map(toSend);
        break;
    }
  });
  return { sends, announce, marks };
}

function allSends(effects: readonly Effect[]): SendEffect[] {
  return effects.flatMap((e) =>
    e.kind === 'send' ? [e] : e.kind === 'finish' ? [...e.announce] : [],
  );
}

function eventsTo(t: Transition, deviceId: string): CallEvent[] {
  return allSends(t.effects)
    .filter((e) => e.to.deviceId === deviceId)
    .map((e) => e.event);
}

/** Payload checks that hold for every event the machine emits. */
function checkPayloads(t: Transition, from: CallState | undefined, input: CallInput | undefined) {
  const sender = input && 'device' in input ? input.device : undefined;
  for (const { event: ev } of allSends(t.effects)) {
    assert.ok('callId' in ev, `${ev.type} names its call`);
    assert.deepEqual(
      { callId: ev.callId, caller: ev.caller, callee: ev.callee, media: ev.media },
      {
        callId: t.state.callId,
        caller: t.state.caller.userId,
        callee: t.state.callee,
        media: t.state.media,
      },
    );
    switch (ev.type) {
      case 'call:ended':
        assert.equal(ev.reason, t.state.endReason);
        assert.equal(ev.by, t.state.endedBy);
        break;
      case 'call:answered_elsewhere':
        assert.ok(sender, 'answered_elsewhere only follows a device input');
        assert.equal(ev.accepted, t.state.phase === 'accepted');
        assert.deepEqual(ev.by, sender);
        assert.equal(ev.fromClientType, sender.clientType);
        assert.equal(ev.timetag, NOW);
        break;
      case 'call:accepted':
        assert.deepEqual(ev.by, sender);
        break;
      case 'call:incoming':
        assert.equal(ev.callerName, t.state.caller.name);
        assert.deepEqual(ev.callerDevice, t.state.caller);
        break;
      case 'call:ringing':
        assert.equal(ev.devices, t.state.ringing.length);
        break;
      default:
        assert.fail(`the machine does not emit ${ev.type}`);
    }
  }
  if (from === undefined) return;
  // Time fields come from the injected `now`, and only when the phase moves.
  assert.equal(t.state.createdAt, from.createdAt);
  if (from.phase === 'ringing' && t.state.phase === 'accepted') {
    assert.equal(t.state.acceptedAt, NOW);
    assert.equal(t.state.ringEndedAt, NOW);
  }
  if (from.phase !== 'ended' && t.state.phase === 'ended') {
    assert.equal(t.state.endedAt, NOW);
    assert.equal(t.state.ringEndedAt, from.ringEndedAt ?? NOW);
    assert.equal(t.state.acceptedAt, from.acceptedAt);
    assert.deepEqual(t.state.ringing, []);
  }
  if (from.phase === t.state.phase) {
    assert.equal(t.state.acceptedAt, from.acceptedAt);
    assert.equal(t.state.endedAt, from.endedAt);
    assert.equal(t.state.ringEndedAt, from.ringEndedAt);
  }
}

function runRow(from: CallState, row: Row): void {
  const t = transition(from, row.input, NOW);
  assert.equal(t.state.phase, row.phase);
  if (row.error !== undefined) {
    assert.equal(t.error?.code, row.error);
    assert.equal(t.state, from, 'a refused input returns the very same state');
    assert.deepEqual(t.effects, []);
    return;
  }
  assert.equal(t.error, undefined, `unexpected error: ${t.error?.message}`);
  assert.equal(t.state.endReason, row.reason === undefined ? from.endReason : row.reason);
  assert.equal(t.state.endedBy, row.endedBy === undefined ? from.endedBy : row.endedBy);
  const got = summarize(t.effects);
  assert.deepEqual(got.sends, row.sends ?? [], 'sends');
  assert.deepEqual(got.announce, row.announce, 'finish announce');
  assert.deepEqual(got.marks, row.marks ?? [], 'other effects');
  if (row.same) assert.equal(t.state, from, 'no-op returns the same state');
  else assert.notEqual(t.state, from, 'a change returns a new state');
  if (row.ringing) {
    assert.deepEqual(
      t.state.ringing.map((d) => d.deviceId),
      row.ringing,
    );
  }
  if (t.state.phase === 'accepted' && from.phase === 'ringing') {
    assert.ok('device' in row.input);
    assert.deepEqual(t.state.answeredBy, row.input.device);
  }
  checkPayloads(t, from, row.input);
}

// ---------------------------------------------------------------------------------------------
// State × input × sender matrix
// ---------------------------------------------------------------------------------------------

const DEVICE_INPUTS = [
  'accept',
  'reject',
  'hangup',
  'hangup:no_answer',
  'device_online',
  'device_lost',
] as const;
const inputKey = (i: CallInput): string =>
  i.type === 'hangup' && i.reason ? `hangup:${i.reason}` : i.type;
const senderKey = (i: CallInput): string => ('device' in i ? i.device.deviceId : '-');

/** Asserts that `rows` hold every device input from every sender, plus the sender-less ones. */
function assertCovers(rows: readonly Row[], senders: readonly DeviceRef[]): void {
  const want = [
    ...DEVICE_INPUTS.flatMap((k) => senders.map((d) => `${k} ${d.deviceId}`)),
    'ring_timeout -',
    'abort -',
  ].sort();
  const have = [...new Set(rows.map((r) => `${inputKey(r.input)} ${senderKey(r.input)}`))].sort();
  assert.deepEqual(have, want);
  assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'row names are unique');
}

const RINGING_ROWS: Row[] = [
  // accept
  { name: 'accept: caller device', input: accept(A1), phase: 'ringing', error: 'not_in_call' },
  {
    name: 'accept: other caller device',
    input: accept(A2),
    phase: 'ringing',
    error: 'not_in_call',
  },
  {
    name: 'accept: ringing b1',
    input: accept(B1),
    phase: 'accepted',
    marks: ['ring_timer off', 'persist_accepted'],
    sends: [['a1', 'call:accepted'], ...elsewhereTo('b2')],
    ringing: [],
  },
  {
    name: 'accept: ringing b2',
    input: accept(B2),
    phase: 'accepted',
    marks: ['ring_timer off', 'persist_accepted'],
    sends: [['a1', 'call:accepted'], ...elsewhereTo('b1')],
    ringing: [],
  },
  {
    // Any device of the callee may answer (this is also how glare resolves).
    name: 'accept: callee device that was not ringing',
    input: accept(B3),
    phase: 'accepted',
    marks: ['ring_timer off', 'persist_accepted'],
    sends: [['a1', 'call:accepted'], ...elsewhereTo('b1', 'b2')],
    ringing: [],
  },
  { name: 'accept: stranger', input: accept(C1), phase: 'ringing', error: 'not_in_call' },

  // reject
  { name: 'reject: caller device', input: reject(A1), phase: 'ringing', error: 'not_in_call' },
  {
    name: 'reject: other caller device',
    input: reject(A2),
    phase: 'ringing',
    error: 'not_in_call',
  },
  {
    name: 'reject: ringing b1',
    input: reject(B1),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b2')],
  },
  {
    name: 'reject: ringing b2',
    input: reject(B2),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b1')],
  },
  {
    name: 'reject: callee device that was not ringing',
    input: reject(B3),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b1', 'b2')],
  },
  { name: 'reject: stranger', input: reject(C1), phase: 'ringing', error: 'not_in_call' },

  // hangup: the caller cancels, the callee rejects
  {
    name: 'hangup: caller device cancels',
    input: hangup(A1),
    phase: 'ended',
    reason: 'cancelled',
    endedBy: 'alice',
    marks: ['ring_timer off'],
    announce: endedTo('b1', 'b2'),
  },
  {
    name: 'hangup: other caller device',
    input: hangup(A2),
    phase: 'ringing',
    error: 'not_in_call',
  },
  {
    name: 'hangup: ringing b1 rejects',
    input: hangup(B1),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b2')],
  },
  {
    name: 'hangup: ringing b2 rejects',
    input: hangup(B2),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b1')],
  },
  {
    name: 'hangup: callee device that was not ringing rejects',
    input: hangup(B3),
    phase: 'ended',
    reason: 'rejected',
    endedBy: 'bob',
    marks: ['ring_timer off'],
    announce: [...endedTo('a1'), ...elsewhereTo('b1', 'b2')],
  },
  { name: 'hangup: stranger', input: hangup(C1), phase: 'ringing', error: 'not_in_call' },

  // hangup with reason no_answer: a client reports its own ring timeout
  {
    name: 'no_answer: caller device',
    input: noAnswer(A1),
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('b1', 'b2'),
  },
  {
    name: 'no_answer: other caller device',
    input: noAnswer(A2),
    phase: 'ringing',
    error: 'not_in_call',
  },
  {
    // The sending device is told nothing: its own no_answer is not echoed back to it.
    name: 'no_answer: ringing b1',
    input: noAnswer(B1),
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1', 'b2'),
  },
  {
    name: 'no_answer: ringing b2',
    input: noAnswer(B2),
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1', 'b1'),
  },
  {
    name: 'no_answer: callee device that was not ringing',
    input: noAnswer(B3),
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1', 'b1', 'b2'),
  },
  { name: 'no_answer: stranger', input: noAnswer(C1), phase: 'ringing', error: 'not_in_call' },

  // device_online without keepCalling never rings anything new
  { name: 'online: caller device', input: online(A1), phase: 'ringing', same: true },
  { name: 'online: other caller device', input: online(A2), phase: 'ringing', same: true },
  { name: 'online: ringing b1', input: online(B1), phase: 'ringing', same: true },
  { name: 'online: ringing b2', input: online(B2), phase: 'ringing', same: true },
  { name: 'online: callee device not ringing', input: online(B3), phase: 'ringing', same: true },
  { name: 'online: stranger', input: online(C1), phase: 'ringing', same: true },

  // device_lost
  {
    name: 'lost: caller device',
    input: lost(A1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'alice',
    marks: ['ring_timer off'],
    announce: endedTo('b1', 'b2'),
  },
  { name: 'lost: other caller device', input: lost(A2), phase: 'ringing', same: true },
  { name: 'lost: ringing b1', input: lost(B1), phase: 'ringing', ringing: ['b2'] },
  { name: 'lost: ringing b2', input: lost(B2), phase: 'ringing', ringing: ['b1'] },
  { name: 'lost: callee device not ringing', input: lost(B3), phase: 'ringing', same: true },
  { name: 'lost: stranger', input: lost(C1), phase: 'ringing', same: true },

  // engine inputs
  {
    name: 'ring_timeout',
    input: RING_TIMEOUT,
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1', 'b1', 'b2'),
  },
  ...(['shutdown', 'node_lost', 'failed'] as const).map((reason): Row => ({
    name: `abort: ${reason}`,
    input: abort(reason),
    phase: 'ended',
    reason,
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1', 'b1', 'b2'),
  })),
];

const ACCEPTED_ROWS: Row[] = [
  // accept / reject: the callee is told it is too late, everyone else is not a party
  { name: 'accept: caller device', input: accept(A1), phase: 'accepted', error: 'not_in_call' },
  {
    name: 'accept: other caller device',
    input: accept(A2),
    phase: 'accepted',
    error: 'not_in_call',
  },
  { name: 'accept: answered b1', input: accept(B1), phase: 'accepted', error: 'invalid_state' },
  { name: 'accept: other callee b2', input: accept(B2), phase: 'accepted', error: 'invalid_state' },
  { name: 'accept: stranger', input: accept(C1), phase: 'accepted', error: 'not_in_call' },
  { name: 'reject: caller device', input: reject(A1), phase: 'accepted', error: 'not_in_call' },
  {
    name: 'reject: other caller device',
    input: reject(A2),
    phase: 'accepted',
    error: 'not_in_call',
  },
  { name: 'reject: answered b1', input: reject(B1), phase: 'accepted', error: 'invalid_state' },
  { name: 'reject: other callee b2', input: reject(B2), phase: 'accepted', error: 'invalid_state' },
  { name: 'reject: stranger', input: reject(C1), phase: 'accepted', error: 'not_in_call' },

  // hangup: only the two connected devices may hang up
  {
    name: 'hangup: caller device',
    input: hangup(A1),
    phase: 'ended',
    reason: 'hangup',
    endedBy: 'alice',
    announce: endedTo('b1'),
  },
  {
    name: 'hangup: other caller device',
    input: hangup(A2),
    phase: 'accepted',
    error: 'not_in_call',
  },
  {
    name: 'hangup: answered b1',
    input: hangup(B1),
    phase: 'ended',
    reason: 'hangup',
    endedBy: 'bob',
    announce: endedTo('a1'),
  },
  { name: 'hangup: other callee b2', input: hangup(B2), phase: 'accepted', error: 'not_in_call' },
  { name: 'hangup: stranger', input: hangup(C1), phase: 'accepted', error: 'not_in_call' },

  // no_answer after accept is an ordinary hangup
  {
    name: 'no_answer: caller device',
    input: noAnswer(A1),
    phase: 'ended',
    reason: 'hangup',
    endedBy: 'alice',
    announce: endedTo('b1'),
  },
  {
    name: 'no_answer: other caller device',
    input: noAnswer(A2),
    phase: 'accepted',
    error: 'not_in_call',
  },
  {
    name: 'no_answer: answered b1',
    input: noAnswer(B1),
    phase: 'ended',
    reason: 'hangup',
    endedBy: 'bob',
    announce: endedTo('a1'),
  },
  {
    name: 'no_answer: other callee b2',
    input: noAnswer(B2),
    phase: 'accepted',
    error: 'not_in_call',
  },
  { name: 'no_answer: stranger', input: noAnswer(C1), phase: 'accepted', error: 'not_in_call' },

  // device_online never matters once answered
  { name: 'online: caller device', input: online(A1), phase: 'accepted', same: true },
  { name: 'online: other caller device', input: online(A2), phase: 'accepted', same: true },
  { name: 'online: answered b1', input: online(B1), phase: 'accepted', same: true },
  { name: 'online: other callee b2', input: online(B2), phase: 'accepted', same: true },
  { name: 'online: stranger', input: online(C1), phase: 'accepted', same: true },

  // device_lost: only the two connected devices matter
  {
    name: 'lost: caller device',
    input: lost(A1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'alice',
    announce: endedTo('b1'),
  },
  { name: 'lost: other caller device', input: lost(A2), phase: 'accepted', same: true },
  {
    name: 'lost: answered b1',
    input: lost(B1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'bob',
    announce: endedTo('a1'),
  },
  { name: 'lost: other callee b2', input: lost(B2), phase: 'accepted', same: true },
  { name: 'lost: stranger', input: lost(C1), phase: 'accepted', same: true },

  // engine inputs: a late ring timeout is ignored; the timer was stopped at accept
  { name: 'ring_timeout', input: RING_TIMEOUT, phase: 'accepted', same: true },
  ...(['shutdown', 'node_lost', 'failed'] as const).map((reason): Row => ({
    name: `abort: ${reason}`,
    input: abort(reason),
    phase: 'ended',
    reason,
    endedBy: null,
    announce: endedTo('a1', 'b1'),
  })),
];

/** Once ended, commands are refused and engine inputs are no-ops, whoever sends them. */
const ENDED_SENDERS = [A1, A2, B1, B2, C1] as const;
const ENDED_ROWS: Row[] = [
  ...ENDED_SENDERS.flatMap((d): Row[] => [
    { name: `accept: ${d.deviceId}`, input: accept(d), phase: 'ended', error: 'invalid_state' },
    { name: `reject: ${d.deviceId}`, input: reject(d), phase: 'ended', error: 'invalid_state' },
    { name: `hangup: ${d.deviceId}`, input: hangup(d), phase: 'ended', error: 'invalid_state' },
    {
      name: `no_answer: ${d.deviceId}`,
      input: noAnswer(d),
      phase: 'ended',
      error: 'invalid_state',
    },
    { name: `online: ${d.deviceId}`, input: online(d), phase: 'ended', same: true },
    { name: `lost: ${d.deviceId}`, input: lost(d), phase: 'ended', same: true },
  ]),
  { name: 'ring_timeout', input: RING_TIMEOUT, phase: 'ended', same: true },
  { name: 'abort: shutdown', input: abort('shutdown'), phase: 'ended', same: true },
];

void describe('transition matrix: ringing (b1, b2 ringing; b3 not ringing)', () => {
  void test('covers every input from every sender', () => {
    assertCovers(RINGING_ROWS, [A1, A2, B1, B2, B3, C1]);
  });
  for (const row of RINGING_ROWS) void test(row.name, () => runRow(ringingCall(), row));
});

void describe('transition matrix: accepted (answered on b1; b2 had rung)', () => {
  void test('covers every input from every sender', () => {
    assertCovers(ACCEPTED_ROWS, [A1, A2, B1, B2, C1]);
  });
  for (const row of ACCEPTED_ROWS) void test(row.name, () => runRow(acceptedCall(), row));
});

void describe('transition matrix: ended', () => {
  void test('covers every input from every sender', () => {
    assertCovers(ENDED_ROWS, ENDED_SENDERS);
  });
  for (const row of ENDED_ROWS) void test(row.name, () => runRow(endedCall(), row));
});

// ---------------------------------------------------------------------------------------------
// startCall
// ---------------------------------------------------------------------------------------------

interface StartRow {
  name: string;
  input: StartInput;
  phase: CallPhase;
  reason: EndReason | null;
  endedBy: string | null;
  ringing: readonly string[];
  sends?: readonly Send[];
  announce?: readonly Send[];
  marks: readonly Mark[];
}

const START_ROWS: StartRow[] = [
  {
    name: 'rings every callee device and tells the caller how many',
    input: startInput(),
    phase: 'ringing',
    reason: null,
    endedBy: null,
    ringing: ['b1', 'b2'],
    marks: ['persist_created', 'ring_timer on'],
    sends: [
      ['b1', 'call:incoming'],
      ['b2', 'call:incoming'],
      ['a1', 'call:ringing'],
    ],
  },
  {
    name: 'keepCalling with devices rings them the same way',
    input: startInput({ keepCalling: true, calleeDevices: [B1, B2, B3] }),
    phase: 'ringing',
    reason: null,
    endedBy: null,
    ringing: ['b1', 'b2', 'b3'],
    marks: ['persist_created', 'ring_timer on'],
    sends: [
      ['b1', 'call:incoming'],
      ['b2', 'call:incoming'],
      ['b3', 'call:incoming'],
      ['a1', 'call:ringing'],
    ],
  },
  {
    // The machine emits `ring_timer off` for a timer it never started; harmless.
    name: 'callee offline: ends at once and announces it to the caller',
    input: startInput({ calleeDevices: [] }),
    phase: 'ended',
    reason: 'offline',
    endedBy: null,
    ringing: [],
    marks: ['persist_created', 'ring_timer off'],
    announce: endedTo('a1'),
  },
  {
    name: 'keepCalling with no devices keeps ringing (0 devices)',
    input: startInput({ keepCalling: true, calleeDevices: [] }),
    phase: 'ringing',
    reason: null,
    endedBy: null,
    ringing: [],
    marks: ['persist_created', 'ring_timer on'],
    sends: [['a1', 'call:ringing']],
  },
  {
    name: 'busy: ends at once, by the callee, without ringing anything',
    input: startInput({ calleeBusy: true }),
    phase: 'ended',
    reason: 'busy',
    endedBy: 'bob',
    ringing: [],
    marks: ['persist_created', 'ring_timer off'],
    announce: endedTo('a1'),
  },
  {
    name: 'busy wins over offline',
    input: startInput({ calleeBusy: true, calleeDevices: [] }),
    phase: 'ended',
    reason: 'busy',
    endedBy: 'bob',
    ringing: [],
    marks: ['persist_created', 'ring_timer off'],
    announce: endedTo('a1'),
  },
  {
    name: 'busy wins over keepCalling',
    input: startInput({ calleeBusy: true, keepCalling: true }),
    phase: 'ended',
    reason: 'busy',
    endedBy: 'bob',
    ringing: [],
    marks: ['persist_created', 'ring_timer off'],
    announce: endedTo('a1'),
  },
];

void describe('startCall', () => {
  for (const row of START_ROWS) {
    void test(row.name, () => {
      const t = startCall(row.input, NOW);
      assert.equal(t.error, undefined);
      assert.equal(t.state.phase, row.phase);
      assert.equal(t.state.endReason, row.reason);
      assert.equal(t.state.endedBy, row.endedBy);
      assert.equal(t.state.keepCalling, row.input.keepCalling);
      assert.deepEqual(
        t.state.ringing.map((d) => d.deviceId),
        row.ringing,
      );
      assert.deepEqual(t.effects[0], { kind: 'persist_created' }, 'the record is created first');
      const got = summarize(t.effects);
      assert.deepEqual(got.sends, row.sends ?? []);
      assert.deepEqual(got.announce, row.announce);
      assert.deepEqual(got.marks, row.marks);
      // Times from `now`.
      assert.equal(t.state.createdAt, NOW);
      assert.equal(t.state.acceptedAt, null);
      assert.equal(t.state.endedAt, row.phase === 'ended' ? NOW : null);
      assert.equal(t.state.ringEndedAt, row.phase === 'ended' ? NOW : null);
      checkPayloads(t, undefined, undefined);
    });
  }

  void test('incoming and ringing events carry the caller and the device count', () => {
    const t = startCall(startInput({ media: 'video' }), NOW);
    const [incoming] = eventsTo(t, 'b2');
    assert.deepEqual(incoming, {
      type: 'call:incoming',
      callId: 'call-1',
      caller: 'alice',
      callee: 'bob',
      media: 'video',
      callerName: 'Alice',
      callerDevice: A1,
    });
    assert.deepEqual(eventsTo(t, 'a1'), [
      {
        type: 'call:ringing',
        callId: 'call-1',
        caller: 'alice',
        callee: 'bob',
        media: 'video',
        devices: 2,
      },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Answering
// ---------------------------------------------------------------------------------------------

void describe('first answer wins', () => {
  void test('b1 accepts, then b2 is told and its accept is refused', () => {
    const s0 = ringingCall();
    const a = transition(s0, accept(B1), NOW);
    assert.equal(a.state.phase, 'accepted');
    assert.deepEqual(a.state.answeredBy, B1);

    assert.deepEqual(eventsTo(a, 'b2'), [
      {
        type: 'call:answered_elsewhere',
        callId: 'call-1',
        caller: 'alice',
        callee: 'bob',
        media: 'audio',
        accepted: true,
        by: B1,
        fromClientType: 'web',
        timetag: NOW,
      },
    ]);
    assert.deepEqual(eventsTo(a, 'a1'), [
      {
        type: 'call:accepted',
        callId: 'call-1',
        caller: 'alice',
        callee: 'bob',
        media: 'audio',
        by: B1,
      },
    ]);
    assert.deepEqual(eventsTo(a, 'b1'), [], 'the answering device hears nothing back');

    for (const late of [accept(B2), reject(B2)]) {
      const b = transition(a.state, late, NOW + 1);
      assert.equal(b.error?.code, 'invalid_state');
      assert.equal(b.state, a.state);
      assert.deepEqual(b.effects, []);
    }
    assert.equal(transition(a.state, hangup(B2), NOW + 1).error?.code, 'not_in_call');
  });

  void test('reject from one device: the others stop ringing, the caller hears rejected', () => {
    const s0 = ringingCall({ ringing: [B1, B2, B3] });
    const t = transition(s0, reject(B2), NOW);
    assert.equal(t.state.phase, 'ended');
    assert.equal(t.state.endReason, 'rejected');
    assert.equal(t.state.endedBy, 'bob');
    assert.equal(t.state.answeredBy, null);
    assert.deepEqual(summarize(t.effects).sends, [], 'everything waits for the end record');
    for (const id of ['b1', 'b3']) {
      assert.deepEqual(eventsTo(t, id), [
        {
          type: 'call:answered_elsewhere',
          callId: 'call-1',
          caller: 'alice',
          callee: 'bob',
          media: 'audio',
          accepted: false,
          by: B2,
          fromClientType: 'android',
          timetag: NOW,
        },
      ]);
    }
    assert.deepEqual(eventsTo(t, 'a1'), [
      {
        type: 'call:ended',
        callId: 'call-1',
        caller: 'alice',
        callee: 'bob',
        media: 'audio',
        reason: 'rejected',
        by: 'bob',
      },
    ]);
    assert.deepEqual(eventsTo(t, 'b2'), []);
  });
});

// ---------------------------------------------------------------------------------------------
// keepCalling and device_lost
// ---------------------------------------------------------------------------------------------

const keep = (over: Partial<CallState> = {}): CallState =>
  ringingCall({ keepCalling: true, ...over });

const KEEP_CALLING_ROWS: CaseRow[] = [
  {
    name: 'a callee device coming online rings too',
    from: keep(),
    input: online(B3),
    phase: 'ringing',
    sends: [['b3', 'call:incoming']],
    ringing: ['b1', 'b2', 'b3'],
  },
  {
    name: 'the first device of a call that started with none rings',
    from: keep({ ringing: [] }),
    input: online(B3),
    phase: 'ringing',
    sends: [['b3', 'call:incoming']],
    ringing: ['b3'],
  },
  {
    name: 'without keepCalling nothing happens',
    from: ringingCall(),
    input: online(B3),
    phase: 'ringing',
    same: true,
  },
  {
    name: 'a device that already rings is not rung twice',
    from: keep(),
    input: online(B1),
    phase: 'ringing',
    same: true,
  },
  {
    name: "a caller's device is not rung",
    from: keep(),
    input: online(A2),
    phase: 'ringing',
    same: true,
  },
  {
    name: 'a stranger is not rung',
    from: keep(),
    input: online(C1),
    phase: 'ringing',
    same: true,
  },
  {
    name: 'after accept nothing rings',
    from: acceptedCall({ keepCalling: true }),
    input: online(B3),
    phase: 'accepted',
    same: true,
  },
  {
    name: 'losing the last ringing device keeps the call ringing',
    from: keep({ ringing: [B1] }),
    input: lost(B1),
    phase: 'ringing',
    ringing: [],
  },
  {
    name: 'ring timeout with no device left ends it, told to the caller',
    from: keep({ ringing: [] }),
    input: RING_TIMEOUT,
    phase: 'ended',
    reason: 'no_answer',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1'),
  },
];

void describe('keepCalling', () => {
  for (const row of KEEP_CALLING_ROWS) void test(row.name, () => runRow(row.from, row));

  void test('a device rung late can answer', () => {
    const rung = transition(keep({ ringing: [] }), online(B3), NOW);
    const t = transition(rung.state, accept(B3), NOW);
    assert.equal(t.state.phase, 'accepted');
    assert.deepEqual(t.state.answeredBy, B3);
  });
});

const DEVICE_LOST_ROWS: CaseRow[] = [
  {
    name: 'caller device while ringing: disconnected, ringing devices told',
    from: ringingCall(),
    input: lost(A1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'alice',
    marks: ['ring_timer off'],
    announce: endedTo('b1', 'b2'),
  },
  {
    name: 'last ringing device without keepCalling: offline, caller told',
    from: ringingCall({ ringing: [B1] }),
    input: lost(B1),
    phase: 'ended',
    reason: 'offline',
    endedBy: null,
    marks: ['ring_timer off'],
    announce: endedTo('a1'),
  },
  {
    name: 'one of several ringing devices: the rest keep ringing',
    from: ringingCall(),
    input: lost(B1),
    phase: 'ringing',
    ringing: ['b2'],
  },
  {
    name: 'answered device after accept: disconnected by the callee, caller told',
    from: acceptedCall(),
    input: lost(B1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'bob',
    announce: endedTo('a1'),
  },
  {
    name: 'caller device after accept: disconnected by the caller, answered device told',
    from: acceptedCall(),
    input: lost(A1),
    phase: 'ended',
    reason: 'disconnected',
    endedBy: 'alice',
    announce: endedTo('b1'),
  },
  {
    name: 'an unrelated device while ringing: no change',
    from: ringingCall(),
    input: lost(C1),
    phase: 'ringing',
    same: true,
  },
  {
    name: 'an unrelated device after accept: no change',
    from: acceptedCall(),
    input: lost(C1),
    phase: 'accepted',
    same: true,
  },
  {
    name: "the callee's other device after accept: no change",
    from: acceptedCall(),
    input: lost(B2),
    phase: 'accepted',
    same: true,
  },
];

void describe('device_lost', () => {
  for (const row of DEVICE_LOST_ROWS) void test(row.name, () => runRow(row.from, row));
});

// ---------------------------------------------------------------------------------------------
// Refused inputs
// ---------------------------------------------------------------------------------------------

const REFUSED_ROWS: { name: string; from: CallState; input: CallInput; code: ErrorCode }[] = [
  { name: 'caller accepts own call', from: ringingCall(), input: accept(A1), code: 'not_in_call' },
  { name: 'stranger hangs up', from: ringingCall(), input: hangup(C1), code: 'not_in_call' },
  {
    name: "caller's other device cancels",
    from: ringingCall(),
    input: hangup(A2),
    code: 'not_in_call',
  },
  { name: 'second accept', from: acceptedCall(), input: accept(B2), code: 'invalid_state' },
  {
    name: 'non-answering callee hangs up',
    from: acceptedCall(),
    input: hangup(B2),
    code: 'not_in_call',
  },
  { name: 'hangup after the end', from: endedCall(), input: hangup(A1), code: 'invalid_state' },
  { name: 'accept after the end', from: endedCall(), input: accept(B1), code: 'invalid_state' },
];

void describe('refused inputs', () => {
  for (const row of REFUSED_ROWS) {
    void test(`${row.name}: ${row.code}, same state, no effects`, () => {
      const before = structuredClone(row.from);
      const t = transition(row.from, row.input, NOW);
      assert.equal(t.error?.code, row.code);
      assert.equal(t.state, row.from);
      assert.deepEqual(t.state, before);
      assert.deepEqual(t.effects, []);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

void describe('time comes from the injected now', () => {
  void test('start, accept, hang up', () => {
    const started = startCall(startInput(), 100);
    assert.equal(started.state.createdAt, 100);
    const acc = transition(started.state, accept(B1), 250);
    assert.deepEqual(
      [acc.state.createdAt, acc.state.ringEndedAt, acc.state.acceptedAt, acc.state.endedAt],
      [100, 250, 250, null],
    );
    const end = transition(acc.state, hangup(A1), 900);
    assert.deepEqual(
      [end.state.createdAt, end.state.ringEndedAt, end.state.acceptedAt, end.state.endedAt],
      [100, 250, 250, 900],
    );
  });

  void test('ring timeout ends the ringing and the call at the same instant', () => {
    const t = transition(startCall(startInput(), 100).state, RING_TIMEOUT, 30_100);
    assert.deepEqual(
      [t.state.ringEndedAt, t.state.acceptedAt, t.state.endedAt],
      [30_100, null, 30_100],
    );
  });

  void test('reject stamps ringEndedAt and endedAt', () => {
    const t = transition(startCall(startInput(), 100).state, reject(B2), 4_200);
    assert.deepEqual(
      [t.state.ringEndedAt, t.state.acceptedAt, t.state.endedAt],
      [4_200, null, 4_200],
    );
  });

  void test('a call that ends at start has zero ring time', () => {
    const t = startCall(startInput({ calleeBusy: true }), 777);
    assert.deepEqual([t.state.createdAt, t.state.ringEndedAt, t.state.endedAt], [777, 777, 777]);
  });

  void test('answered_elsewhere timetag is now', () => {
    const t = transition(ringingCall(), accept(B2), 31_337);
    const [ev] = eventsTo(t, 'b1');
    assert.ok(ev?.type === 'call:answered_elsewhere');
    assert.equal(ev.timetag, 31_337);
  });
});

// ---------------------------------------------------------------------------------------------
// findGlare
// ---------------------------------------------------------------------------------------------

const CAROL = callerRef(C1, 'Carol');
const BOB = callerRef(B1, 'Bob');

/** alice → bob, ringing. */
const aliceToBob = ringingCall({ callId: 'a-b' });
const aliceToBobAccepted = acceptedCall({ callId: 'a-b-acc' });
const aliceToBobEnded = endedCall({ callId: 'a-b-end' });
/** bob → alice, ringing. */
const bobToAlice = ringingCall({ callId: 'b-a', caller: BOB, callee: 'alice', ringing: [A1] });
const carolToBob = ringingCall({ callId: 'c-b', caller: CAROL });
const carolToAlice = ringingCall({ callId: 'c-a', caller: CAROL, callee: 'alice', ringing: [A1] });

const GLARE_ROWS: {
  name: string;
  live: CallState[];
  caller: string;
  callee: string;
  found: string | undefined;
}[] = [
  {
    name: 'bob inviting alice finds her ringing call to him',
    live: [aliceToBob],
    caller: 'bob',
    callee: 'alice',
    found: 'a-b',
  },
  {
    name: 'alice inviting bob finds his ringing call to her',
    live: [carolToBob, bobToAlice],
    caller: 'alice',
    callee: 'bob',
    found: 'b-a',
  },
  {
    name: 'the ringing one among accepted and ended ones',
    live: [aliceToBobAccepted, aliceToBobEnded, aliceToBob],
    caller: 'bob',
    callee: 'alice',
    found: 'a-b',
  },
  {
    name: 'an accepted reverse call is not glare',
    live: [aliceToBobAccepted],
    caller: 'bob',
    callee: 'alice',
    found: undefined,
  },
  {
    name: 'an ended reverse call is not glare',
    live: [aliceToBobEnded],
    caller: 'bob',
    callee: 'alice',
    found: undefined,
  },
  {
    name: 'a call in the same direction is not glare',
    live: [aliceToBob],
    caller: 'alice',
    callee: 'bob',
    found: undefined,
  },
  {
    name: 'calls between other users are not glare',
    live: [carolToBob, carolToAlice],
    caller: 'bob',
    callee: 'alice',
    found: undefined,
  },
  {
    name: 'a call that shares only the caller is not glare',
    live: [carolToBob],
    caller: 'bob',
    callee: 'alice',
    found: undefined,
  },
  { name: 'no live calls', live: [], caller: 'bob', callee: 'alice', found: undefined },
];

void describe('findGlare', () => {
  for (const row of GLARE_ROWS) {
    void test(row.name, () => {
      const found = findGlare(row.live, row.caller, row.callee);
      assert.equal(found?.callId, row.found);
      if (found) assert.ok(row.live.includes(found), 'returns the live state itself');
    });
  }

  void test('accepts any iterable, e.g. a Map of live calls', () => {
    const live = new Map([
      [carolToBob.callId, carolToBob],
      [aliceToBob.callId, aliceToBob],
    ]);
    assert.equal(findGlare(live.values(), 'bob', 'alice'), aliceToBob);
  });
});
