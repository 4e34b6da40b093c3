import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceRef, EndReason, Media } from '@parley/protocol';
import { FakeServer, fakeSignaling } from '../../test/fake-server.ts';
import { FakePeerHandler } from '../../test/fake-peer.ts';
import type { ParleyError } from '../errors.ts';
import type { Signaling } from '../signaling.ts';
import type { NetCallEvents } from './netcall-events.ts';
import { NetCall, type NetCallOptions } from './netcall.ts';

/**
 * The netcall API against the fake endpoint and the fake WebRTC handler: every event of
 * specs/netcall-sdk.md, the signals on the wire, and the media lifecycle.
 */

const BOB_DEVICE: DeviceRef = { userId: 'bob', deviceId: 'bob-1', clientType: 'ios' };
const ALICE_DEVICE: DeviceRef = { userId: 'alice', deviceId: 'alice-1', clientType: 'web' };

/** Every connection a test opened, closed after it (which also ends its call's timers). */
const open: Signaling[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.disconnect();
});

async function setup(
  me = 'alice',
  preconnect = true,
  options: Pick<NetCallOptions, 'mediaTimeoutMs' | 'iceTransportPolicy'> = {},
) {
  const server = new FakeServer();
  server.userId = me;
  const signaling = fakeSignaling(server);
  const netcall = new NetCall({
    signaling,
    userId: () => me,
    peerHandler: () => new FakePeerHandler(),
    iceServers: () => Promise.resolve([{ urls: 'stun:stun.test' }]),
    preconnect,
    ...options,
  });
  const log: Array<[keyof NetCallEvents, unknown]> = [];
  for (const e of [
    'beCalling',
    'callAccepted',
    'callRejected',
    'callerAckSync',
    'hangup',
    'syncDone',
    'clientJoin',
    'clientLeave',
    'callRecord',
    'ringing',
    'callEnded',
  ] as const) {
    netcall.on(e, (data: unknown) => log.push([e, data]));
  }
  await signaling.connect();
  open.push(signaling);
  let seen = 0;
  /** The names of the events since the last look. */
  const events = () => log.slice(seen, (seen = log.length)).map(([e]) => e);
  /** The data of the last event `name`. */
  const last = (name: keyof NetCallEvents) =>
    [...log].reverse().find(([e]) => e === name)?.[1] as Record<string, unknown>;
  return { server, signaling, netcall, events, last };
}

/** Fields every call event carries. */
const base = (callId: string, caller = 'alice', callee = 'bob', media: Media = 'video') => ({
  callId,
  caller,
  callee,
  media,
});

const ended = (callId: string, reason: EndReason, by: string | null, caller = 'alice') => ({
  type: 'call:ended' as const,
  ...base(callId, caller, caller === 'alice' ? 'bob' : 'alice'),
  reason,
  by,
});

describe('NetCall as the caller', () => {
  test('call → ringing → callAccepted → startRtc → media; hangup ends it', async () => {
    const { server, netcall, events } = await setup();
    server.on('call:invite', () => {
      // The server says ringing before it acknowledges the invite (same tick on the wire).
      server.push({ type: 'call:ringing', ...base('c1'), devices: 2 });
      return { callId: 'c1' };
    });
    const placed = await netcall.call({ type: 2, callee: 'bob', forceKeepCalling: true });
    assert.deepEqual(placed, { cid: 'c1' });
    const invite = await server.next('call:invite');
    assert.deepEqual(invite.data, { callee: 'bob', media: 'video', keepCalling: true });
    await server.settle();
    assert.deepEqual(events(), ['ringing']);
    assert.equal(netcall.cid, 'c1');

    // The camera and the offer are ready while it rings, but nothing is sent before the answer.
    const handler = FakePeerHandler.last;
    assert.equal(handler.options?.media, 'video');
    assert.equal(handler.options?.polite, false);
    assert.deepEqual(handler.options?.iceServers, [{ urls: 'stun:stun.test' }]);
    assert.equal(server.all('call:offer').length, 0);

    server.push({ type: 'call:accepted', ...base('c1'), by: BOB_DEVICE });
    await server.settle();
    assert.deepEqual(events(), ['callAccepted']);
    const offer = await server.next('call:offer');
    assert.deepEqual(offer.data, { callId: 'c1', sdp: 'v=0 fake-offer' });
    assert.equal(offer.requestId, undefined, 'signals go without a requestId');
    assert.deepEqual((await server.next('call:ice')).data.candidate, {
      candidate: 'candidate:1',
      sdpMid: '0',
    });
    assert.equal((await server.next('call:ice')).data.candidate, null);

    const rtc = await netcall.startRtc();
    assert.deepEqual(rtc, { uid: 'dev-1', account: 'alice', cid: 'c1' });
    server.push({ type: 'call:answer', ...base('c1'), from: 'bob', sdp: 'v=0 fake-answer' });
    await server.settle();
    assert.deepEqual(events(), ['syncDone', 'clientJoin']);
    assert.deepEqual(handler.received, [{ kind: 'answer', sdp: 'v=0 fake-answer' }]);
    // The server cannot see the media: the SDK reports that it connected, and when.
    const media = await server.next('call:media');
    assert.equal(media.data.callId, 'c1');
    assert.equal(media.data.state, 'connected');
    assert.ok(Math.abs(Number(media.data.at) - Date.now()) < 5_000, JSON.stringify(media.data));
    assert.ok(media.requestId, 'a request: the server answers it');

    await netcall.hangup();
    assert.deepEqual((await server.next('call:hangup')).data, { callId: 'c1' });
    assert.deepEqual(events(), ['clientLeave', 'callEnded']);
    assert.equal(handler.closed, true);
    assert.equal(netcall.cid, null);
  });

  test('the spec event data', async () => {
    const { server, netcall, last } = await setup();
    server.on('call:invite', () => ({ callId: 'c2' }));
    await netcall.call({ type: 1, callee: 'bob' });
    server.push({ type: 'call:accepted', ...base('c2', 'alice', 'bob', 'audio'), by: BOB_DEVICE });
    await server.settle();
    const accepted = last('callAccepted');
    assert.equal(accepted.account, 'bob');
    assert.equal(accepted.type, 1);
    assert.equal(accepted.cid, 'c2');
    assert.equal(accepted.fromClientType, 'ios');
    assert.match(accepted.timetag as string, /^\d{13}$/, 'the spec types timetag as a string');
    assert.equal(FakePeerHandler.last.options?.media, 'audio');
    await netcall.startRtc({ mode: 1 });
    const member = { mode: 1, pusher_secret: '', scene: 0 };
    assert.deepEqual(last('syncDone'), {
      code: 200,
      errmsg: '',
      userlist: [
        { account: 'alice', uid: 'dev-1', url: 'parley:c2/dev-1', ...member },
        { account: 'bob', uid: 'bob-1', url: 'parley:c2/bob-1', ...member },
      ],
    });
    server.push({ type: 'call:answer', ...base('c2'), from: 'bob', sdp: 'v=0' });
    await server.settle();
    const join = last('clientJoin');
    assert.equal(join.account, 'bob');
    assert.equal(join.uid, 'bob-1');
    assert.equal(join.cid, 'c2');
    assert.equal(join.mode, 1);
    assert.equal(join.url, 'parley:c2/bob-1');
    assert.equal((join.stream as MediaStream).id, 'remote');
    server.push(ended('c2', 'hangup', 'bob'));
    await server.settle();
    const hangup = last('hangup');
    assert.equal(hangup.cid, 'c2');
    assert.equal(hangup.account, 'bob');
    assert.equal(hangup.reason, 'hangup');
    assert.match(hangup.timetag as string, /^\d{13}$/);
    assert.deepEqual(last('clientLeave'), {
      account: 'bob',
      uid: 'bob-1',
      id: 'bob-1',
      cid: 'c2',
      url: 'parley:c2/bob-1',
    });
    assert.deepEqual(last('callEnded'), { cid: 'c2', reason: 'hangup', by: 'bob' });
  });

  test('the callee as `account` (the spec table) or `callee`, the type a plain number', async () => {
    const { server, netcall } = await setup();
    server.on('call:invite', (d) => ({ callId: `to-${String(d.callee)}` }));
    const type: number = 1;
    assert.deepEqual(await netcall.call({ type, account: 'bob' }), { cid: 'to-bob' });
    assert.deepEqual((await server.next('call:invite')).data, {
      callee: 'bob',
      media: 'audio',
      keepCalling: false,
    });
    await netcall.hangup();
    await netcall.call({ type: 2, callee: 'carol', account: 'carol' });
    assert.equal((await server.next('call:invite')).data.callee, 'carol');
    await netcall.hangup();
  });

  test('call options it cannot honour are refused with bad_request, and place no call', async () => {
    const { server, netcall } = await setup();
    const refused = async (options: unknown) => {
      await assert.rejects(
        netcall.call(options as Parameters<NetCall['call']>[0]),
        (e: ParleyError) => e.code === 'bad_request',
      );
      assert.equal(netcall.cid, null);
    };
    await refused({ type: 3, account: 'bob' });
    await refused({ type: '2', account: 'bob' });
    await refused({ type: 2, account: 'bob', callee: 'carol' });
    await refused({ type: 2 });
    await refused({ type: 2, account: '' });
    await server.settle();
    assert.equal(server.all('call:invite').length, 0);
  });

  test("startRtc takes the spec's mode: 0 or the call's type; another mode is refused", async () => {
    const { server, netcall } = await setup();
    server.on('call:invite', () => ({ callId: 'm1' }));
    await netcall.call({ type: 2, account: 'bob' });
    server.push({ type: 'call:accepted', ...base('m1'), by: BOB_DEVICE });
    await server.settle();
    await assert.rejects(
      netcall.startRtc({ mode: 1 }),
      (e: ParleyError) => e.code === 'bad_request',
    );
    assert.deepEqual(await netcall.startRtc({ mode: 0 }), {
      uid: 'dev-1',
      account: 'alice',
      cid: 'm1',
    });
    assert.equal((await netcall.startRtc({ mode: 2 })).cid, 'm1');
  });

  for (const reason of ['rejected', 'busy'] as const) {
    test(`callRejected when the callee is ${reason}, not hangup`, async () => {
      const { server, netcall, events, last } = await setup();
      server.on('call:invite', () => ({ callId: 'c3' }));
      await netcall.call({ type: 2, callee: 'bob' });
      server.push(ended('c3', reason, 'bob'));
      await server.settle();
      assert.deepEqual(events(), ['callRejected', 'callEnded']);
      assert.equal(last('callRejected').reason, reason);
      assert.equal(FakePeerHandler.last.closed, true);
      assert.equal(netcall.cid, null);
    });
  }

  for (const reason of ['no_answer', 'offline'] as const) {
    test(`hangup with reason ${reason}; hanging up after it does nothing`, async () => {
      const { server, netcall, events, last } = await setup();
      server.on('call:invite', () => ({ callId: 'c4' }));
      await netcall.call({ type: 2, callee: 'bob' });
      server.push(ended('c4', reason, null));
      await server.settle();
      assert.deepEqual(events(), ['hangup', 'callEnded']);
      assert.equal(last('hangup').reason, reason);
      // The spec's call timer hangs up once its 30 s are over, whatever happened meanwhile.
      await netcall.hangup();
      await server.settle();
      assert.deepEqual(events(), []);
      assert.equal(server.all('call:hangup').length, 0);
    });
  }

  test('an end that comes before the invite is acknowledged still ends the call', async () => {
    const { server, netcall, events } = await setup();
    server.on('call:invite', () => {
      server.push(ended('c5', 'offline', null));
      return { callId: 'c5' };
    });
    assert.deepEqual(await netcall.call({ type: 2, callee: 'bob' }), { cid: 'c5' });
    await server.settle();
    assert.deepEqual(events(), ['hangup', 'callEnded']);
    assert.equal(netcall.cid, null);
  });

  test('hanging up while it rings cancels; the API refuses misuse with typed errors', async () => {
    const { server, netcall, events } = await setup();
    await assert.rejects(netcall.startRtc(), (e: ParleyError) => e.code === 'invalid_state');
    server.on('call:invite', () => ({ callId: 'c6' }));
    await netcall.call({ type: 2, callee: 'bob' });
    await assert.rejects(
      netcall.call({ type: 2, callee: 'carol' }),
      (e: ParleyError) => e.code === 'invalid_state',
    );
    await assert.rejects(netcall.startRtc(), (e: ParleyError) => e.code === 'invalid_state');
    await netcall.hangup();
    assert.deepEqual((await server.next('call:hangup')).data, { callId: 'c6' });
    assert.deepEqual(events(), ['callEnded']);
  });

  test('without preconnect the media opens only with startRtc', async () => {
    const { server, netcall } = await setup('alice', false);
    const before = FakePeerHandler.made.length;
    server.on('call:invite', () => ({ callId: 'c12' }));
    await netcall.call({ type: 2, callee: 'bob' });
    assert.equal(FakePeerHandler.made.length, before);
    server.push({ type: 'call:accepted', ...base('c12'), by: BOB_DEVICE });
    await server.settle();
    await netcall.startRtc();
    assert.equal(FakePeerHandler.made.length, before + 1);
    assert.equal((await server.next('call:offer')).data.sdp, 'v=0 fake-offer');
  });

  test('a failed invite rejects with the server code and leaves no call', async () => {
    const { server, netcall } = await setup();
    server.on('call:invite', async () => {
      const { FakeError } = await import('../../test/fake-server.ts');
      throw new FakeError('self_call', 'cannot call yourself');
    });
    await assert.rejects(
      netcall.call({ type: 2, callee: 'alice' }),
      (e: ParleyError) => e.code === 'self_call',
    );
    assert.equal(netcall.cid, null);
    assert.equal(FakePeerHandler.last.closed, true);
  });

  test('glare: our invite answered their ringing call; we become its callee', async () => {
    const { server, netcall, events } = await setup();
    server.push({
      type: 'call:incoming',
      ...base('g1', 'bob', 'alice'),
      callerName: 'Bob',
      callerDevice: BOB_DEVICE,
    });
    await server.settle();
    assert.deepEqual(events(), ['beCalling']);
    server.on('call:invite', () => ({ callId: 'g1', glare: true }));
    await netcall.call({ type: 2, callee: 'bob' });
    assert.deepEqual(events(), ['callAccepted']);
    const readied = FakePeerHandler.last;
    assert.equal(readied.closed, true, 'the caller-side media is dropped');
    await netcall.startRtc();
    const handler = FakePeerHandler.last;
    assert.notEqual(handler, readied);
    assert.equal(handler.options?.polite, true);
    server.push({ type: 'call:offer', ...base('g1', 'bob', 'alice'), from: 'bob', sdp: 'v=0' });
    assert.deepEqual((await server.next('call:answer')).data, {
      callId: 'g1',
      sdp: 'v=0 fake-answer',
    });
    assert.equal(server.all('call:offer').length, 0);
  });
});

describe('NetCall as the callee', () => {
  const incoming = (callId: string, media: Media = 'video') => ({
    type: 'call:incoming' as const,
    ...base(callId, 'alice', 'bob', media),
    callerName: 'Alice',
    callerDevice: ALICE_DEVICE,
  });

  test('beCalling → response → startRtc answers the offer that came first', async () => {
    const { server, netcall, events, last } = await setup('bob');
    server.push(incoming('c7'));
    await server.settle();
    assert.deepEqual(events(), ['beCalling']);
    const ring = last('beCalling');
    assert.equal(ring.caller, 'alice');
    assert.equal(ring.callerName, 'Alice');
    assert.equal(ring.type, 2);
    assert.equal(ring.cid, 'c7');
    assert.equal(ring.fromClientType, 'web');

    await netcall.response({ accepted: true, caller: 'alice', type: 2, cid: 'c7' });
    assert.deepEqual((await server.next('call:accept')).data, { callId: 'c7' });
    // The offer and a candidate arrive before the app calls startRtc.
    server.push({ type: 'call:offer', ...base('c7'), from: 'alice', sdp: 'v=0 offer' });
    server.push({ type: 'call:ice', ...base('c7'), from: 'alice', candidate: null });
    await server.settle();
    const handler = FakePeerHandler.made.length;
    assert.equal(FakePeerHandler.made.length, handler, 'no media before startRtc');
    const slow = new Promise<void>((r) => setTimeout(r, 20));
    const started = netcall.startRtc();
    FakePeerHandler.last.gate = slow;
    await started;
    const h = FakePeerHandler.last;
    assert.equal(h.options?.polite, true);
    assert.deepEqual(
      h.received.map((s) => s.kind),
      ['offer', 'ice'],
      'applied in order after the media is up',
    );
    assert.deepEqual((await server.next('call:answer')).data, {
      callId: 'c7',
      sdp: 'v=0 fake-answer',
    });
    await server.settle();
    assert.deepEqual(events(), ['syncDone', 'clientJoin']);
    server.push(ended('c7', 'hangup', 'alice'));
    await server.settle();
    assert.deepEqual(events(), ['hangup', 'clientLeave', 'callEnded']);
  });

  test('media that fails is reported with its reason; once connected, nothing more', async () => {
    const { server, netcall } = await setup('bob');
    server.push(incoming('c8'));
    await server.settle();
    await netcall.response({ accepted: true, caller: 'alice', type: 1, cid: 'c8' });
    await netcall.startRtc();
    const h = FakePeerHandler.last;
    h.fail();
    h.fail();
    const failed = await server.next('call:media');
    assert.deepEqual(failed.data, { callId: 'c8', state: 'failed', reason: 'ice_failed' });
    h.recover();
    assert.equal((await server.next('call:media')).data.state, 'connected');
    h.fail();
    h.recover();
    await server.settle();
    assert.deepEqual(server.all('call:media'), [], 'one failure and one connect, no more');
  });

  test('media that does not connect in time has failed (ice_timeout); it may still connect', async () => {
    const { server, netcall } = await setup('bob', true, {
      mediaTimeoutMs: 50,
      iceTransportPolicy: 'relay',
    });
    const states: string[] = [];
    netcall.on('mediaState', (s) => states.push(s));
    server.push(incoming('c9'));
    await server.settle();
    await netcall.response({ accepted: true, caller: 'alice', type: 1, cid: 'c9' });
    await netcall.startRtc();
    const h = FakePeerHandler.last;
    assert.equal(h.options?.iceTransportPolicy, 'relay');
    // No offer ever comes: the fake stays connecting, as ICE does without a candidate pair.
    const failed = await server.next('call:media');
    assert.deepEqual(failed.data, { callId: 'c9', state: 'failed', reason: 'ice_timeout' });
    assert.deepEqual(states, ['connecting', 'failed']);
    h.fail();
    await server.settle();
    assert.deepEqual(server.all('call:media'), [], 'one failure reported');
    h.recover();
    assert.equal((await server.next('call:media')).data.state, 'connected');
  });

  test('media that connects in time reports no timeout', async () => {
    const { server, netcall } = await setup('bob', true, { mediaTimeoutMs: 50 });
    server.push(incoming('c10'));
    await server.settle();
    await netcall.response({ accepted: true, caller: 'alice', type: 1, cid: 'c10' });
    server.push({
      type: 'call:offer',
      ...base('c10', 'alice', 'bob', 'audio'),
      from: 'alice',
      sdp: 'v=0',
    });
    server.push({
      type: 'call:ice',
      ...base('c10', 'alice', 'bob', 'audio'),
      from: 'alice',
      candidate: null,
    });
    await server.settle();
    await netcall.startRtc();
    assert.equal((await server.next('call:media')).data.state, 'connected');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(server.all('call:media'), [], 'nothing after the timeout passed');
  });

  test('answered elsewhere: callerAckSync; answering then is refused', async () => {
    const { server, netcall, events, last } = await setup('bob');
    server.push(incoming('c8'));
    server.push({
      type: 'call:answered_elsewhere',
      ...base('c8'),
      accepted: true,
      by: BOB_DEVICE,
      fromClientType: 'ios',
      timetag: 1234,
    });
    await server.settle();
    assert.deepEqual(events(), ['beCalling', 'callerAckSync']);
    assert.deepEqual(last('callerAckSync'), {
      timetag: '1234',
      cid: 'c8',
      type: 2,
      accepted: true,
      fromClientType: 'ios',
    });
    await assert.rejects(
      netcall.response({ accepted: true, caller: 'alice', type: 2, cid: 'c8' }),
      (e: ParleyError) => e.code === 'not_found',
    );
  });

  test('a rejection is sent; a cancelled ring is a hangup with its reason', async () => {
    const { server, netcall, events, last } = await setup('bob');
    server.push(incoming('c9', 'audio'));
    await server.settle();
    await netcall.response({ accepted: false, caller: 'alice', type: 1, cid: 'c9' });
    assert.deepEqual((await server.next('call:reject')).data, { callId: 'c9' });
    server.push(incoming('c10'));
    server.push(ended('c10', 'cancelled', 'alice'));
    await server.settle();
    assert.deepEqual(events(), ['beCalling', 'beCalling', 'hangup']);
    assert.equal(last('hangup').reason, 'cancelled');
    assert.equal(last('hangup').account, 'alice');
  });

  test("the Call objects behind it: ringing, then current, their events beside the spec's", async () => {
    const { server, netcall, events } = await setup('bob');
    server.push(incoming('c13'));
    await server.settle();
    const call = netcall.incomingCall('c13');
    assert.ok(call, 'a ringing call is a Call');
    assert.equal(call.phase, 'incoming');
    assert.equal(netcall.currentCall, null);
    const seen: string[] = [];
    call.on('joined', () => seen.push(`joined ${String(netcall.cid)}`));
    call.on('ended', ({ reason }) => seen.push(`ended ${reason}`));
    await netcall.response({ accepted: true, caller: 'alice', type: 2, cid: 'c13' });
    assert.equal(netcall.currentCall, call);
    assert.equal(netcall.incomingCall('c13'), undefined, 'answered: no longer ringing');
    await netcall.startRtc();
    await call.hangup();
    assert.deepEqual(seen, ['joined c13', 'ended hangup']);
    assert.deepEqual(events(), ['beCalling', 'syncDone', 'callEnded']);
    assert.equal(netcall.currentCall, null);
  });

  test('an accept the server refuses leaves no call', async () => {
    const { server, netcall } = await setup('bob');
    const { FakeError } = await import('../../test/fake-server.ts');
    server.on('call:accept', () => {
      throw new FakeError('invalid_state');
    });
    server.push(incoming('c11'));
    await server.settle();
    await assert.rejects(
      netcall.response({ accepted: true, caller: 'alice', type: 2, cid: 'c11' }),
      (e: ParleyError) => e.code === 'invalid_state',
    );
    assert.equal(netcall.cid, null);
  });
});

describe('NetCall across drops', () => {
  async function connectedCall() {
    const s = await setup();
    s.server.on('call:invite', () => ({ callId: 'd1' }));
    await s.netcall.call({ type: 2, callee: 'bob' });
    s.server.push({ type: 'call:accepted', ...base('d1'), by: BOB_DEVICE });
    await s.server.settle();
    await s.netcall.startRtc();
    s.server.push({ type: 'call:answer', ...base('d1'), from: 'bob', sdp: 'v=0' });
    await s.server.settle();
    s.events();
    return s;
  }

  test('a resume keeps the call; media that suffered restarts ICE, healthy media does not', async () => {
    const { server, signaling, netcall, events } = await connectedCall();
    const h = FakePeerHandler.last;
    server.drop();
    await signaling.next('resumed');
    assert.equal(h.restarts, 0, 'connected media is left alone');
    assert.equal(netcall.cid, 'd1');
    h.degrade();
    server.drop();
    await signaling.next('resumed');
    assert.equal(h.restarts, 1);
    // Signals made while away go out after the resume.
    netcall.networkChanged();
    assert.equal(h.restarts, 2);
    assert.deepEqual(events(), []);
  });

  test('back as a new device: the call is over (hangup, reason disconnected)', async () => {
    const { server, signaling, netcall, events, last } = await connectedCall();
    server.resumes = false;
    server.drop();
    await signaling.next('sessionLost');
    assert.deepEqual(events(), ['hangup', 'clientLeave', 'callEnded']);
    assert.equal(last('hangup').reason, 'disconnected');
    assert.equal(netcall.cid, null);
    assert.equal(FakePeerHandler.last.closed, true);
  });

  test('mute and camera apply to the current media and to the next call', async () => {
    const { netcall } = await connectedCall();
    const h = FakePeerHandler.last;
    netcall.setMuted(true);
    await netcall.setCamera(false);
    assert.equal(h.audio, false);
    assert.equal(h.video, false);
    assert.equal(netcall.isMuted, true);
    assert.equal(netcall.isCameraOn, false);
    await netcall.switchDevice('videoinput', 'cam-2');
    assert.deepEqual(h.switched, [{ kind: 'videoinput', deviceId: 'cam-2' }]);
    assert.ok(await netcall.getStats());
    await netcall.hangup();
    await assert.rejects(
      netcall.switchDevice('audioinput', 'x'),
      (e: ParleyError) => e.code === 'invalid_state',
    );
  });

  test('records of any call are passed on', async () => {
    const { server, events, last } = await setup();
    server.push({ type: 'call:record', record: { callId: 'r1' } as never });
    await server.settle();
    assert.deepEqual(events(), ['callRecord']);
    assert.equal(last('callRecord').callId, 'r1');
  });
});
