import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallEvent, DeviceRef } from '@parley/protocol';
import {
  incomingCall,
  isRejection,
  outgoingCall,
  transition,
  type CallEffect,
  type CallInput,
  type CallPhase,
  type CallState,
} from './call-machine.ts';

/**
 * The call machine as tables: a state, the inputs fed to it, and the phase and effects that
 * must follow. No sockets, no timers, no media: effects are data.
 */

const NOW = 1_700_000_000_000;
const BOB: DeviceRef = { userId: 'bob', deviceId: 'bob-1', clientType: 'ios' };
const ALICE: DeviceRef = { userId: 'alice', deviceId: 'alice-1', clientType: 'web' };
const base = { callId: 'c1', caller: 'alice', callee: 'bob', media: 'video' } as const;
const OFFER = { kind: 'offer', sdp: 'v=0 o' } as const;
const ICE = { kind: 'ice', candidate: null } as const;
const STREAM = { id: 'remote' } as MediaStream;
const SELF = { account: 'alice', uid: 'alice-1' };

const server = (event: CallEvent): CallInput => ({ type: 'server', event });
const ended = (reason: 'hangup' | 'rejected' | 'busy' | 'offline', by: string | null) =>
  server({ type: 'call:ended', ...base, reason, by });
const INVITED: CallInput = { type: 'invited', cid: 'c1', glare: null };
const ACCEPTED = server({ type: 'call:accepted', ...base, by: BOB });
const RINGING = server({ type: 'call:ringing', ...base, devices: 2 });
const LIVE: CallInput[] = [{ type: 'rtc_starting' }, { type: 'rtc_live', self: SELF }];
const media = (state: 'connected' | 'failed' | 'reconnecting'): CallInput => ({
  type: 'media_state',
  state,
});

/** Freezes a state through and through: a transition that mutates one throws. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) frozen(v);
  }
  return value;
}

/** Feeds `inputs` in order (every state frozen); the last state and every effect. */
function run(from: CallState, inputs: readonly CallInput[]) {
  let state = frozen(from);
  const effects: CallEffect[] = [];
  for (const input of inputs) {
    const t = transition(state, input, NOW);
    state = frozen(t.state);
    effects.push(...t.effects);
  }
  return { state, effects };
}

/** An effect in a word or two, for the tables. */
function word(e: CallEffect): string {
  switch (e.kind) {
    case 'emit':
      return `emit ${e.name}`;
    case 'send':
    case 'apply':
      return `${e.kind} ${e.signal.kind}`;
    case 'report':
      return `report ${e.state}${e.state === 'failed' ? ` ${e.reason}` : ''}`;
    case 'media_timer':
    case 'quality':
      return `${e.kind} ${e.on ? 'on' : 'off'}`;
    default:
      return e.kind;
  }
}

const caller = () => outgoingCall('bob', 'video');
const ringing = () => run(caller(), [INVITED]).state;
const answered = () => run(ringing(), [ACCEPTED]).state;
const live = () => run(answered(), LIVE).state;
const connected = () => run(live(), [media('connected')]).state;
const callee = () =>
  incomingCall({
    type: 'call:incoming',
    ...base,
    callerName: 'Alice',
    callerDevice: ALICE,
  });
const joined = () => run(connected(), [{ type: 'remote_stream', stream: STREAM }]).state;
/** What every end does, after what the row names. */
const END = ['media_timer off', 'quality off', 'close_media'];

interface Row {
  name: string;
  from: () => CallState;
  inputs: CallInput[];
  phase: CallPhase;
  effects: string[];
}

const rows: Row[] = [
  // The caller's way to an answer.
  {
    name: 'signals made before the invite is acknowledged wait',
    from: caller,
    inputs: [{ type: 'local_signal', signal: OFFER }],
    phase: 'inviting',
    effects: [],
  },
  {
    name: 'events before the acknowledgement are replayed after it',
    from: caller,
    inputs: [RINGING, INVITED],
    phase: 'ringing',
    effects: ['emit ringing'],
  },
  {
    name: 'an end before the acknowledgement ends the call after it',
    from: caller,
    inputs: [ended('offline', null), INVITED],
    phase: 'ended',
    effects: ['emit hangup', ...END, 'emit ended'],
  },
  {
    name: 'the answer sends what waited, then says accepted',
    from: caller,
    inputs: [
      { type: 'local_signal', signal: OFFER },
      { type: 'local_signal', signal: ICE },
      INVITED,
      ACCEPTED,
    ],
    phase: 'accepted',
    effects: ['send offer', 'send ice', 'emit accepted'],
  },
  {
    name: 'once answered, signals go at once',
    from: answered,
    inputs: [{ type: 'local_signal', signal: ICE }],
    phase: 'accepted',
    effects: ['send ice'],
  },
  {
    name: 'a second answer is ignored',
    from: answered,
    inputs: [ACCEPTED],
    phase: 'accepted',
    effects: [],
  },
  {
    name: 'glare: the readied media goes and the call is answered, as its callee',
    from: caller,
    inputs: [
      { type: 'local_signal', signal: OFFER },
      { type: 'invited', cid: 'c1', glare: { by: BOB } },
    ],
    phase: 'accepted',
    effects: ['drop_media', 'emit accepted'],
  },
  // The callee's way.
  {
    name: 'accepting a ringing call answers it (once)',
    from: callee,
    inputs: [{ type: 'accept' }, { type: 'accept' }],
    phase: 'accepted',
    effects: [],
  },
  {
    name: 'answered elsewhere: said, then over here',
    from: callee,
    inputs: [
      server({
        type: 'call:answered_elsewhere',
        ...base,
        accepted: true,
        by: { ...BOB, deviceId: 'bob-2' },
        fromClientType: 'ios',
        timetag: 5,
      }),
    ],
    phase: 'ended',
    effects: ['emit answeredElsewhere', ...END, 'emit ended'],
  },
  {
    name: 'a ring the caller cancels is a hangup',
    from: callee,
    inputs: [ended('hangup', 'alice')],
    phase: 'ended',
    effects: ['emit hangup', ...END, 'emit ended'],
  },
  // The media.
  {
    name: 'signals before startRtc wait, and are applied in order once the media is up',
    from: answered,
    inputs: [
      server({ type: 'call:offer', ...base, from: 'bob', sdp: 'v=0' }),
      server({ type: 'call:ice', ...base, from: 'bob', candidate: null }),
      ...LIVE,
    ],
    phase: 'accepted',
    effects: ['emit joined', 'media_timer on', 'apply offer', 'apply ice'],
  },
  {
    name: 'once live, signals are applied at once',
    from: live,
    inputs: [server({ type: 'call:answer', ...base, from: 'bob', sdp: 'v=0' })],
    phase: 'accepted',
    effects: ['apply answer'],
  },
  {
    name: 'the media cannot start before the answer',
    from: ringing,
    inputs: LIVE,
    phase: 'ringing',
    effects: [],
  },
  {
    name: 'rtc_live without rtc_starting is ignored',
    from: answered,
    inputs: [{ type: 'rtc_live', self: SELF }],
    phase: 'accepted',
    effects: [],
  },
  {
    name: 'connected: timeout cleared, quality on, reported',
    from: live,
    inputs: [media('connected')],
    phase: 'accepted',
    effects: ['emit mediaState', 'media_timer off', 'quality on', 'report connected'],
  },
  {
    name: 'a failure is reported once; connected after it too; nothing after connected',
    from: live,
    inputs: [media('failed'), media('failed'), media('connected'), media('failed')],
    phase: 'accepted',
    effects: [
      'emit mediaState',
      'report failed ice_failed',
      'emit mediaState',
      'emit mediaState',
      'media_timer off',
      'quality on',
      'report connected',
      'emit mediaState',
    ],
  },
  {
    name: 'media that did not connect in time has failed (ice_timeout), reported once',
    from: live,
    inputs: [{ type: 'media_timeout' }, media('failed')],
    phase: 'accepted',
    effects: ['emit mediaState', 'report failed ice_timeout', 'emit mediaState'],
  },
  {
    name: 'a timeout after the media connected does nothing',
    from: connected,
    inputs: [{ type: 'media_timeout' }],
    phase: 'accepted',
    effects: [],
  },
  {
    name: 'the remote stream joins once',
    from: connected,
    inputs: [
      { type: 'remote_stream', stream: STREAM },
      { type: 'remote_stream', stream: STREAM },
    ],
    phase: 'accepted',
    effects: ['emit remoteStream'],
  },
  {
    name: 'a resume restarts ICE only for media that suffered',
    from: connected,
    inputs: [{ type: 'resumed' }, media('reconnecting'), { type: 'resumed' }],
    phase: 'accepted',
    effects: ['emit mediaState', 'restart_ice'],
  },
  {
    name: 'a network change restarts live media',
    from: connected,
    inputs: [{ type: 'network_changed' }],
    phase: 'accepted',
    effects: ['restart_ice'],
  },
  {
    name: 'a network change before the media is live does nothing',
    from: answered,
    inputs: [{ type: 'network_changed' }, { type: 'resumed' }],
    phase: 'accepted',
    effects: [],
  },
  // Ends.
  {
    name: 'hanging up while it rings cancels, quietly',
    from: ringing,
    inputs: [{ type: 'hangup', by: 'alice' }],
    phase: 'ended',
    effects: [...END, 'emit ended'],
  },
  {
    name: 'the other side hangs up: hangup, the media goes, then ended',
    from: joined,
    inputs: [ended('hangup', 'bob')],
    phase: 'ended',
    effects: ['emit hangup', ...END, 'emit remoteLeft', 'emit ended'],
  },
  {
    name: 'the session lost: hangup (disconnected), then ended',
    from: joined,
    inputs: [{ type: 'lost' }],
    phase: 'ended',
    effects: ['emit hangup', ...END, 'emit remoteLeft', 'emit ended'],
  },
  {
    name: 'a failed request ends it quietly',
    from: caller,
    inputs: [{ type: 'fail' }],
    phase: 'ended',
    effects: [...END, 'emit ended'],
  },
  {
    name: 'an ended call ignores everything',
    from: () => run(joined(), [{ type: 'lost' }]).state,
    inputs: [
      ended('hangup', 'bob'),
      { type: 'hangup', by: 'alice' },
      { type: 'lost' },
      media('connected'),
      { type: 'local_signal', signal: ICE },
      { type: 'media_timeout' },
      { type: 'network_changed' },
    ],
    phase: 'ended',
    effects: [],
  },
];

describe('call machine', () => {
  for (const row of rows) {
    test(row.name, () => {
      const { state, effects } = run(row.from(), row.inputs);
      assert.equal(state.phase, row.phase);
      assert.deepEqual(effects.map(word), row.effects);
    });
  }
});

describe('call machine: the data it gives', () => {
  test('the end reason of a local hangup follows the phase', () => {
    const reason = (from: CallState) => run(from, [{ type: 'hangup', by: 'me' }]).state.end;
    assert.deepEqual(reason(ringing()), { reason: 'cancelled', by: 'me' });
    assert.deepEqual(reason(caller()), { reason: 'cancelled', by: 'me' });
    assert.deepEqual(reason(answered()), { reason: 'hangup', by: 'me' });
    assert.deepEqual(reason(callee()), { reason: 'rejected', by: 'me' });
  });

  test('accepted carries the answering device and the time; the remote is known after it', () => {
    const { state, effects } = run(ringing(), [ACCEPTED]);
    assert.deepEqual(effects.at(-1), {
      kind: 'emit',
      name: 'accepted',
      data: { by: BOB, fromClientType: 'ios', at: NOW, glare: false },
    });
    assert.deepEqual(state.remote, BOB);
    const { effects: joinedFx } = run(state, LIVE);
    assert.deepEqual(joinedFx[0], {
      kind: 'emit',
      name: 'joined',
      data: { self: SELF, remote: { account: 'bob', uid: 'bob-1' } },
    });
  });

  test('glare makes this device the callee, its waiting signals dropped', () => {
    const { state, effects } = run(caller(), [
      { type: 'local_signal', signal: OFFER },
      { type: 'invited', cid: 'c1', glare: { by: BOB } },
    ]);
    assert.equal(state.role, 'callee');
    assert.deepEqual(state.outbox, []);
    assert.equal(state.cid, 'c1');
    const accepted = effects.find((e) => e.kind === 'emit' && e.name === 'accepted');
    assert.deepEqual(accepted, {
      kind: 'emit',
      name: 'accepted',
      data: { by: BOB, fromClientType: 'ios', at: NOW, glare: true },
    });
  });

  test('the connected report carries its time; the timeout report its reason', () => {
    const { effects } = run(live(), [media('connected')]);
    assert.deepEqual(effects.at(-1), { kind: 'report', state: 'connected', at: NOW });
    const timedOut = run(live(), [{ type: 'media_timeout' }]);
    assert.deepEqual(timedOut.state.mediaState, 'failed');
    assert.deepEqual(timedOut.effects.at(-1), {
      kind: 'report',
      state: 'failed',
      reason: 'ice_timeout',
    });
  });

  test("the server's end gives its reason and who, in hangup and ended", () => {
    const { state, effects } = run(joined(), [ended('hangup', 'bob')]);
    const data = effects.flatMap((e) => (e.kind === 'emit' ? [[e.name, e.data]] : []));
    assert.deepEqual(data, [
      ['hangup', { reason: 'hangup', by: 'bob', at: NOW }],
      ['remoteLeft', { account: 'bob', uid: 'bob-1' }],
      ['ended', { reason: 'hangup', by: 'bob' }],
    ]);
    assert.deepEqual(state.end, { reason: 'hangup', by: 'bob' });
  });

  test('rejected and busy are a rejection for the caller only', () => {
    assert.equal(isRejection('caller', 'rejected'), true);
    assert.equal(isRejection('caller', 'busy'), true);
    assert.equal(isRejection('caller', 'no_answer'), false);
    assert.equal(isRejection('callee', 'rejected'), false);
  });

  test('a transition never changes the state it is given', () => {
    const before = answered();
    const copy = structuredClone(before);
    assert.throws(() => {
      (before as { phase: string }).phase = 'ended';
    }, TypeError);
    run(before, [
      server({ type: 'call:offer', ...base, from: 'bob', sdp: 'v=0' }),
      ...LIVE,
      media('connected'),
      { type: 'hangup', by: 'alice' },
    ]);
    assert.deepEqual(before, copy);
  });
});
