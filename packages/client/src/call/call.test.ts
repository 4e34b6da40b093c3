import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallEvent, DeviceRef } from '@parley/protocol';
import { FakeError, FakeServer, fakeSignaling } from '../../test/fake-server.ts';
import { FakePeerHandler } from '../../test/fake-peer.ts';
import { ManualClock } from '../../test/manual-clock.ts';
import type { ParleyError } from '../errors.ts';
import type { Signaling } from '../signaling.ts';
import type { CallEvents } from './call-events.ts';
import { Call, type CallContext } from './call.ts';

/**
 * A Call on its own, without the netcall façade: the server's events routed to it by hand (as
 * NetCall does), the fake endpoint on the wire, the fake WebRTC handler for the media. What
 * the machine decides is table-tested in call-machine.test.ts; this is the running of it:
 * requests, signals, the media, its timers, and the events in order.
 */

const BOB: DeviceRef = { userId: 'bob', deviceId: 'bob-1', clientType: 'ios' };
const ALICE: DeviceRef = { userId: 'alice', deviceId: 'alice-1', clientType: 'web' };
const base = { callId: 'k1', caller: 'alice', callee: 'bob', media: 'video' } as const;
const INCOMING = {
  type: 'call:incoming',
  ...base,
  callerName: 'Alice',
  callerDevice: ALICE,
} as const;

const open: Signaling[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.disconnect();
});

async function setup(me: string, options: Partial<CallContext> = {}) {
  const server = new FakeServer();
  server.userId = me;
  const signaling = fakeSignaling(server);
  await signaling.connect();
  open.push(signaling);
  const ctx: CallContext = {
    signaling,
    userId: () => me,
    peerHandler: () => new FakePeerHandler(),
    iceServers: () => Promise.resolve([]),
    ...options,
  };
  return { server, signaling, ctx };
}

/** Routes the server's events of `call` to it, and records its events. */
function watch(signaling: Signaling, call: Call) {
  signaling.on('event', (e) => {
    if (!e.type.startsWith('call:') || e.type === 'call:record') return;
    const ev = e as Exclude<CallEvent, { type: 'call:record' }>;
    if (call.claims(ev)) call.handle(ev);
  });
  const log: Array<[keyof CallEvents, unknown]> = [];
  for (const name of [
    'ringing',
    'accepted',
    'answeredElsewhere',
    'joined',
    'remoteStream',
    'remoteLeft',
    'hangup',
    'ended',
  ] as const) {
    call.on(name, (data: unknown) => log.push([name, data]));
  }
  let seen = 0;
  /** The names of the events since the last look. */
  const events = () => log.slice(seen, (seen = log.length)).map(([n]) => n);
  /** The data of the last event `name`. */
  const last = (name: keyof CallEvents) => [...log].reverse().find(([n]) => n === name)?.[1];
  return { events, last };
}

describe('Call, placed', () => {
  test('from invite to hangup: the wire, the media and the events in order', async () => {
    const { server, signaling, ctx } = await setup('alice');
    server.on('call:invite', () => ({ callId: 'k1' }));
    const call = Call.outgoing(ctx, 'bob', 'video');
    const { events, last } = watch(signaling, call);
    assert.equal(call.phase, 'inviting');
    assert.equal(await call.place({ keepCalling: true }), 'k1');
    assert.deepEqual((await server.next('call:invite')).data, {
      callee: 'bob',
      media: 'video',
      keepCalling: true,
    });
    assert.equal(call.phase, 'ringing');
    assert.equal(call.cid, 'k1');
    const handler = FakePeerHandler.last;
    assert.equal(handler.options?.polite, false, 'readied while it rings, as the caller');
    assert.equal(server.all('call:offer').length, 0, 'nothing sent before the answer');

    server.push({ type: 'call:ringing', ...base, devices: 1 });
    server.push({ type: 'call:accepted', ...base, by: BOB });
    await server.settle();
    assert.deepEqual(events(), ['ringing', 'accepted']);
    const accepted = last('accepted') as CallEvents['accepted'][0];
    assert.deepEqual(
      { ...accepted, at: 0 },
      { by: BOB, fromClientType: 'ios', at: 0, glare: false },
    );
    assert.ok(Math.abs(accepted.at - Date.now()) < 5_000);
    assert.equal((await server.next('call:offer')).data.callId, 'k1');
    assert.deepEqual(call.remote, BOB);

    assert.deepEqual(await call.startRtc(), { account: 'alice', uid: 'dev-1' });
    server.push({ type: 'call:answer', ...base, from: 'bob', sdp: 'v=0' });
    assert.equal((await server.next('call:media')).data.state, 'connected');
    assert.equal(call.mediaState, 'connected');
    assert.deepEqual(events(), ['joined', 'remoteStream']);
    assert.deepEqual(last('joined'), {
      self: { account: 'alice', uid: 'dev-1' },
      remote: { account: 'bob', uid: 'bob-1' },
    });

    await call.hangup();
    assert.deepEqual((await server.next('call:hangup')).data, { callId: 'k1' });
    assert.deepEqual(events(), ['remoteLeft', 'ended']);
    assert.deepEqual(last('ended'), { reason: 'hangup', by: 'alice' });
    assert.equal(handler.closed, true);
    assert.equal(call.ended, true);
    await call.hangup();
    await server.settle();
    assert.equal(server.all('call:hangup').length, 0, 'a second hangup does nothing');
  });

  test("claims its invite's events before it has an id, and only its own after", async () => {
    const { server, ctx } = await setup('alice');
    let answer: (v: unknown) => void = () => undefined;
    server.on('call:invite', () => new Promise((r) => (answer = r)));
    const call = Call.outgoing(ctx, 'bob', 'audio');
    const placed = call.place({ keepCalling: false });
    await server.next('call:invite');
    const ringing = (callId: string, callee = 'bob') =>
      ({ type: 'call:ringing', ...base, callId, callee, devices: 1 }) as const;
    assert.equal(call.claims(ringing('k9')), true, 'our invite: alice calling bob');
    assert.equal(call.claims(ringing('k9', 'carol')), false);
    answer({ callId: 'k9' });
    await placed;
    assert.equal(call.claims(ringing('k9')), true);
    assert.equal(call.claims(ringing('k10')), false);
  });

  test('a camera that fails while it rings ends the call and hangs it up', async () => {
    const { server, signaling, ctx } = await setup('alice', {
      peerHandler: () => {
        const h = new FakePeerHandler();
        h.gate = Promise.reject(new Error('NotAllowedError'));
        return h;
      },
    });
    server.on('call:invite', () => ({ callId: 'k2' }));
    const call = Call.outgoing(ctx, 'bob', 'video');
    const { events, last } = watch(signaling, call);
    await assert.rejects(call.place({ keepCalling: false }), /NotAllowedError/);
    assert.deepEqual((await server.next('call:hangup')).data, { callId: 'k2' });
    assert.deepEqual(events(), ['ended']);
    assert.deepEqual(last('ended'), { reason: 'failed', by: null });
  });

  test('the media timeout ends with the call: nothing is reported after a hangup', async () => {
    const clock = new ManualClock();
    const { server, signaling, ctx } = await setup('alice', { mediaTimeoutMs: 30, clock });
    server.on('call:invite', () => ({ callId: 'k3' }));
    const call = Call.outgoing(ctx, 'bob', 'audio');
    watch(signaling, call);
    await call.place({ keepCalling: false });
    server.push({ type: 'call:accepted', ...base, callId: 'k3', by: BOB });
    await server.settle();
    await call.startRtc();
    assert.equal(clock.pending, 1, 'the media timeout is armed');
    await call.hangup();
    await server.next('call:hangup');
    assert.equal(clock.pending, 0, 'and cleared with the call');
    clock.advance(120);
    await server.settle();
    assert.deepEqual(server.all('call:media'), [], 'the timer went with the call');
  });

  test('quality readings while connected; none once the call ended', async () => {
    const clock = new ManualClock();
    const { server, signaling, ctx } = await setup('alice', { qualityIntervalMs: 10, clock });
    server.on('call:invite', () => ({ callId: 'k4' }));
    const call = Call.outgoing(ctx, 'bob', 'audio');
    watch(signaling, call);
    await call.place({ keepCalling: false });
    server.push({ type: 'call:accepted', ...base, callId: 'k4', by: BOB });
    await server.settle();
    await call.startRtc();
    server.push({ type: 'call:answer', ...base, callId: 'k4', from: 'bob', sdp: 'v=0' });
    await server.settle();
    const next = call.next('quality');
    // The first reading is the baseline; the second, one interval on, is the first quality.
    for (let i = 0; i < 2; i++) {
      clock.advance(10);
      await server.settle();
    }
    const [quality] = await next;
    assert.equal(quality.level, 'lost', 'the fake receives nothing');
    let after = 0;
    call.on('quality', () => after++);
    await call.hangup();
    assert.equal(clock.pending, 0, 'the readings stop with the call');
    clock.advance(60);
    await server.settle();
    assert.equal(after, 0);
  });

  test('mute and camera chosen before the media opens apply when it does', async () => {
    const { server, ctx } = await setup('alice', { preconnect: false });
    server.on('call:invite', () => ({ callId: 'k5' }));
    const call = Call.outgoing(ctx, 'bob', 'video');
    call.setMuted(true);
    await call.setCamera(false);
    await assert.rejects(
      call.switchDevice('videoinput', 'cam-2'),
      (e: ParleyError) => e.code === 'invalid_state',
    );
    await assert.rejects(call.getStats(), (e: ParleyError) => e.code === 'invalid_state');
    const before = FakePeerHandler.made.length;
    await call.place({ keepCalling: false });
    assert.equal(FakePeerHandler.made.length, before, 'no media before startRtc');
    call.handle({ type: 'call:accepted', ...base, callId: 'k5', by: BOB });
    await call.startRtc();
    const h = FakePeerHandler.last;
    assert.equal(h.audio, false);
    assert.equal(h.video, false);
    await call.switchDevice('videoinput', 'cam-2');
    assert.deepEqual(h.switched, [{ kind: 'videoinput', deviceId: 'cam-2' }]);
  });
});

describe('Call, ringing here', () => {
  test('accepted: call:accept on the wire, then its media answers the offer', async () => {
    const { server, signaling, ctx } = await setup('bob');
    const call = Call.incoming(ctx, INCOMING);
    const { events } = watch(signaling, call);
    assert.equal(call.phase, 'incoming');
    assert.equal(call.role, 'callee');
    assert.equal(call.peer, 'alice');
    assert.deepEqual(call.remote, ALICE);
    await assert.rejects(call.startRtc(), (e: ParleyError) => e.code === 'invalid_state');
    await call.accept();
    assert.deepEqual((await server.next('call:accept')).data, { callId: 'k1' });
    server.push({ type: 'call:offer', ...base, from: 'alice', sdp: 'v=0 offer' });
    await server.settle();
    await call.startRtc();
    assert.equal(FakePeerHandler.last.options?.polite, true);
    assert.equal((await server.next('call:answer')).data.sdp, 'v=0 fake-answer');
    await assert.rejects(call.accept(), (e: ParleyError) => e.code === 'invalid_state');
    server.push({ type: 'call:ended', ...base, reason: 'hangup', by: 'alice' });
    await server.settle();
    assert.deepEqual(events(), ['joined', 'hangup', 'ended']);
  });

  test('rejected (or hung up while ringing): call:reject, ended here as rejected', async () => {
    const { server, signaling, ctx } = await setup('bob');
    for (const how of ['reject', 'hangup'] as const) {
      const call = Call.incoming(ctx, { ...INCOMING, callId: `r-${how}` });
      const { events, last } = watch(signaling, call);
      await call[how]();
      assert.deepEqual((await server.next('call:reject')).data, { callId: `r-${how}` });
      assert.deepEqual(events(), ['ended']);
      assert.deepEqual(last('ended'), { reason: 'rejected', by: 'bob' });
    }
  });

  test('answered on another device of the user: said, and over here', async () => {
    const { server, signaling, ctx } = await setup('bob');
    const call = Call.incoming(ctx, INCOMING);
    const { events, last } = watch(signaling, call);
    server.push({
      type: 'call:answered_elsewhere',
      ...base,
      accepted: false,
      by: { ...BOB, deviceId: 'bob-2' },
      fromClientType: 'ios',
      timetag: 42,
    });
    await server.settle();
    assert.deepEqual(events(), ['answeredElsewhere', 'ended']);
    assert.deepEqual(last('answeredElsewhere'), {
      accepted: false,
      fromClientType: 'ios',
      at: 42,
    });
    assert.deepEqual(last('ended'), { reason: 'answered_elsewhere', by: 'bob' });
  });

  test('an accept the server refuses ends the call as failed', async () => {
    const { server, signaling, ctx } = await setup('bob');
    server.on('call:accept', () => {
      throw new FakeError('invalid_state');
    });
    const call = Call.incoming(ctx, INCOMING);
    const { events, last } = watch(signaling, call);
    await assert.rejects(call.accept(), (e: ParleyError) => e.code === 'invalid_state');
    assert.deepEqual(events(), ['ended']);
    assert.deepEqual(last('ended'), { reason: 'failed', by: null });
  });
});

describe('Call, on a clock moved by hand (its timeouts without waiting)', () => {
  /** alice's call k6 to bob, answered by bob and with its media started. */
  async function answered(clock: ManualClock, options: Partial<CallContext> = {}) {
    const { server, signaling, ctx } = await setup('alice', { clock, ...options });
    server.on('call:invite', () => ({ callId: 'k6' }));
    const call = Call.outgoing(ctx, 'bob', 'video');
    const watched = watch(signaling, call);
    await call.place({ keepCalling: false });
    server.push({ type: 'call:accepted', ...base, callId: 'k6', by: BOB });
    await server.settle();
    await call.startRtc();
    return { server, call, ...watched };
  }

  test('media that has not connected at the default 30 s has failed (ice_timeout), not a tick before', async () => {
    const clock = new ManualClock();
    const { server, call } = await answered(clock);
    clock.advance(29_999);
    await server.settle();
    assert.notEqual(call.mediaState, 'failed');
    assert.deepEqual(server.all('call:media'), []);
    clock.advance(1);
    await server.settle();
    assert.equal(call.mediaState, 'failed');
    assert.deepEqual((await server.next('call:media')).data, {
      callId: 'k6',
      state: 'failed',
      reason: 'ice_timeout',
    });
    assert.equal(call.ended, false, 'the app decides whether to hang up');
  });

  test('media that connects in time disarms the timeout; times come from the call clock', async () => {
    const clock = new ManualClock(5_000_000);
    const { server, call, last } = await answered(clock, { mediaTimeoutMs: 1_000 });
    assert.equal((last('accepted') as CallEvents['accepted'][0]).at, 5_000_000);
    clock.advance(999);
    server.push({ type: 'call:answer', ...base, callId: 'k6', from: 'bob', sdp: 'v=0' });
    await server.settle();
    assert.equal(call.mediaState, 'connected');
    assert.deepEqual((await server.next('call:media')).data, {
      callId: 'k6',
      state: 'connected',
      at: 5_000_999,
    });
    clock.advance(60_000);
    await server.settle();
    assert.equal(call.mediaState, 'connected');
    assert.deepEqual(server.all('call:media'), [], 'no timeout after the media connected');
    await call.hangup();
    assert.equal(clock.pending, 0, 'no timer outlives the call');
  });

  test('quality is read once per interval of the call clock (default 2 s)', async () => {
    const clock = new ManualClock();
    const { server, call } = await answered(clock);
    server.push({ type: 'call:answer', ...base, callId: 'k6', from: 'bob', sdp: 'v=0' });
    await server.settle();
    const readings: unknown[] = [];
    call.on('quality', (q) => readings.push(q));
    const handler = FakePeerHandler.last;
    let stats = 0;
    const read = handler.getStats.bind(handler);
    handler.getStats = () => {
      stats++;
      return read();
    };
    clock.advance(1_999);
    await server.settle();
    assert.equal(stats, 0);
    clock.advance(1);
    await server.settle();
    assert.equal(stats, 1, 'the first reading: a baseline, no quality yet');
    assert.equal(readings.length, 0);
    clock.advance(4_000);
    await server.settle();
    assert.equal(stats, 3);
    assert.equal(readings.length, 2);
  });
});
