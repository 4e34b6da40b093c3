import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  callStarter,
  recordCheck,
  quiet,
  recordRow,
  startServer,
  type Call,
  type Frame,
  type TestClient,
  type TestServer,
} from './harness.ts';

/**
 * 1:1 calls over the native dialect (`/ws`), end to end over real sockets: every scenario
 * checks the events each device gets, the `call:record` event both parties get and the stored
 * `call_records` row.
 */

const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

/** Invites `callee` and returns the call id from the ack. */
async function invite(
  caller: TestClient,
  callee: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await caller.request('call:invite', { callee, media: 'video', ...extra });
  assert.equal(r.type, 'ok', JSON.stringify(r));
  assert.equal(typeof r.data.callId, 'string');
  return r.data.callId as string;
}

/** Invites `callee`, which must ring; returns the call id and how many devices ring. */
async function dial(
  caller: TestClient,
  callee: string,
  extra: Record<string, unknown> = {},
): Promise<{ callId: string; devices: number }> {
  const callId = await invite(caller, callee, extra);
  const ringing = await caller.next(of('call:ringing', callId));
  return { callId, devices: ringing.data.devices as number };
}

/** Starts a call (see callStarter); resolves once every callee device has its call:incoming. */
const ring = callStarter('native', async (from, to, { callee, media }) => {
  const { callId } = await dial(from, callee, { media });
  for (const b of to) await b.next(of('call:incoming', callId));
  return callId;
});

async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'ok', `${type}: ${JSON.stringify(r)}`);
  return r;
}

/** Sends a request that must be refused with `code`; the requestId must be echoed. */
async function refused(c: TestClient, type: string, data: unknown, code: string): Promise<void> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'error', `${type} should be refused: ${JSON.stringify(r)}`);
  assert.equal(r.error.code, code, `${type}: ${JSON.stringify(r)}`);
}

/** Every client gets the `call:record` of `callId` with this outcome. */
async function expectRecordEvents(
  clients: TestClient[],
  callId: string,
  status: string,
  reason: string,
): Promise<Frame[]> {
  const records = await Promise.all(clients.map((c) => c.next(of('call:record', callId))));
  for (const r of records) {
    assert.equal(r.data.record.callId, callId);
    assert.equal(r.data.record.status, status);
    assert.equal(r.data.record.reason, reason);
    assert.equal(typeof r.data.record.ringMs, 'number');
  }
  return records.map((r) => r.data.record as Frame);
}

async function ended(c: TestClient, callId: string, reason: string, by: string | null) {
  const f = await c.next(of('call:ended', callId));
  assert.equal(f.data.reason, reason, JSON.stringify(f));
  assert.equal(f.data.by, by);
  return f;
}

/** The end of `call`: every client in `told` gets its `call:record`, and the row agrees. */
const expectRecorded = recordCheck((told, { callId }, status, reason) =>
  expectRecordEvents(told, callId, status, reason),
);

describe('native calls', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 },
      limits: { rateBurst: 1000 },
    });
  });
  after(() => srv.close());

  test('rings every device; first answer wins; the other device is told; caller hangs up', async () => {
    const alice = await srv.connect('ring-alice');
    const b1 = await srv.connect('ring-bob', 'native', 'web');
    const b2 = await srv.connect('ring-bob', 'native', 'ios');
    const { callId, devices } = await dial(alice, 'ring-bob', { media: 'audio' });
    assert.equal(devices, 2);
    for (const b of [b1, b2]) {
      const inc = await b.next(of('call:incoming', callId));
      assert.equal(inc.data.caller, 'ring-alice');
      assert.equal(inc.data.callee, 'ring-bob');
      assert.equal(inc.data.media, 'audio');
      assert.equal(inc.data.callerName, 'RING-ALICE');
      assert.equal(inc.data.callerDevice.clientType, 'web');
    }

    await ok(b1, 'call:accept', { callId });
    const acc = await alice.next(of('call:accepted', callId));
    const by = acc.data.by as Frame;
    assert.equal(by.userId, 'ring-bob');
    assert.equal(by.clientType, 'web');
    assert.deepEqual(Object.keys(by).sort(), ['clientType', 'deviceId', 'userId']);
    const elsewhere = await b2.next(of('call:answered_elsewhere', callId));
    assert.equal(elsewhere.data.accepted, true);
    assert.equal(elsewhere.data.fromClientType, 'web');
    assert.deepEqual(elsewhere.data.by, by);
    assert.equal(typeof elsewhere.data.timetag, 'number');

    // The second device's answer comes too late.
    await refused(b2, 'call:accept', { callId }, 'invalid_state');
    await refused(b2, 'call:reject', { callId }, 'invalid_state');

    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'hangup', 'ring-alice');
    const call: Call = { srv, callId, caller: 'ring-alice', callee: 'ring-bob', media: 'audio' };
    const answered = { clientType: 'web', deviceId: by.deviceId };
    const [rec] = await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', answered);
    assert.deepEqual(rec!.answeredBy, { deviceId: by.deviceId, clientType: 'web' });
    assert.equal(rec!.media, 'audio');
    assert.ok(rec!.startedAt);
    await quiet(alice, b1, b2);
  });

  test('the answering callee hangs up', async () => {
    const { call, callId, devices } = await ring(srv, 'hu-alice', 'hu-bob', { to: ['android'] });
    const [alice, bob] = devices;
    await ok(bob, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    await ok(bob, 'call:hangup', { callId });
    await ended(alice, callId, 'hangup', 'hu-bob');
    await expectRecorded(call, [alice, bob], 'completed', 'hangup', { clientType: 'android' });
    await quiet(alice, bob);
  });

  test('reject: the caller gets rejected, the other device accepted:false', async () => {
    const { call, callId, devices } = await ring(srv, 'rj-alice', 'rj-bob', {
      to: ['web', 'android'],
    });
    const [alice, b1, b2] = devices;
    await ok(b2, 'call:reject', { callId });
    await ended(alice, callId, 'rejected', 'rj-bob');
    const elsewhere = await b1.next(of('call:answered_elsewhere', callId));
    assert.equal(elsewhere.data.accepted, false);
    assert.equal(elsewhere.data.fromClientType, 'android');
    const [rec] = await expectRecorded(call, [alice, b1, b2], 'rejected', 'rejected', null);
    assert.equal(rec!.answeredBy, null);
    assert.equal(rec!.duration, 0);
    await quiet(alice, b1, b2);
  });

  test('busy: a callee in an accepted call makes the caller get busy at once', async () => {
    const { callId: first, devices } = await ring(srv, 'busy-carol', 'busy-bob', { to: ['web'] });
    const [carol, bob] = devices;
    const alice = await srv.connect('busy-alice');
    await ok(bob, 'call:accept', { callId: first });
    await carol.next(of('call:accepted', first));

    const callId = await invite(alice, 'busy-bob');
    await ended(alice, callId, 'busy', 'busy-bob');
    const call: Call = { srv, callId, caller: 'busy-alice', callee: 'busy-bob', media: 'video' };
    await expectRecorded(call, [alice, bob], 'busy', 'busy', null);
    await quiet(alice, bob, carol); // bob's device never rang

    // The first call is untouched.
    carol.send({ type: 'call:offer', data: { callId: first, sdp: 'v=0 first' } });
    assert.equal((await bob.next(of('call:offer', first))).data.sdp, 'v=0 first');
    await ok(carol, 'call:hangup', { callId: first });
    await ended(bob, first, 'hangup', 'busy-carol');
  });

  test('no_answer reported by the caller ends the ringing on every callee device', async () => {
    const { call, callId, devices } = await ring(srv, 'cna-alice', 'cna-bob');
    const [alice, b1, b2] = devices;
    await ok(alice, 'call:hangup', { callId, reason: 'no_answer' });
    await ended(b1, callId, 'no_answer', null);
    await ended(b2, callId, 'no_answer', null);
    await expectRecorded(call, [alice, b1, b2], 'missed', 'no_answer', null);
    await quiet(alice, b1, b2);
  });

  test('cancel: the caller hangs up while ringing; every callee device is told', async () => {
    const { call, callId, devices } = await ring(srv, 'cx-alice', 'cx-bob');
    const [alice, b1, b2] = devices;
    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'cancelled', 'cx-alice');
    await ended(b2, callId, 'cancelled', 'cx-alice');
    await expectRecorded(call, [alice, b1, b2], 'cancelled', 'cancelled', null);
    await quiet(alice, b1, b2);
    // The call is gone: a late accept finds nothing.
    await refused(b1, 'call:accept', { callId }, 'not_found');
  });

  test('disconnect: the caller drops mid-call; the callee hears after the grace', async () => {
    const { call, callId, devices } = await ring(srv, 'dc-alice', 'dc-bob', {
      from: ['web', 'pc'],
      to: ['web'],
    });
    const [a1, a2, bob] = devices; // a2 stays online for the record
    await ok(bob, 'call:accept', { callId });
    await a1.next(of('call:accepted', callId));
    a1.close();
    await ended(bob, callId, 'disconnected', 'dc-alice');
    await expectRecorded(call, [a2, bob], 'completed', 'disconnected', { clientType: 'web' });
    await quiet(a2, bob);
  });

  test('disconnect: the answering device drops mid-call; the caller hears', async () => {
    const { call, callId, devices } = await ring(srv, 'dd-alice', 'dd-bob', { to: ['ios'] });
    const [alice, bob] = devices;
    await ok(bob, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    bob.close();
    await ended(alice, callId, 'disconnected', 'dd-bob');
    await expectRecorded(call, [alice], 'completed', 'disconnected', { clientType: 'ios' });
    await quiet(alice);
  });

  test('offline: a callee with no device ends the call at once', async () => {
    const alice = await srv.connect('off-alice');
    const callId = await invite(alice, 'off-bob');
    await ended(alice, callId, 'offline', null);
    const call: Call = { srv, callId, caller: 'off-alice', callee: 'off-bob', media: 'video' };
    await expectRecorded(call, [alice], 'missed', 'offline', null);
    await quiet(alice);
  });

  test('keepCalling: a callee device that connects while ringing rings too', async () => {
    const alice = await srv.connect('kc-alice');
    // Nobody online: with keepCalling the call waits instead of ending offline.
    const { callId, devices } = await dial(alice, 'kc-bob', { keepCalling: true });
    assert.equal(devices, 0);
    await quiet(alice);
    const b1 = await srv.connect('kc-bob', 'native', 'web');
    await b1.next(of('call:incoming', callId));
    const b2 = await srv.connect('kc-bob', 'native', 'ios');
    await b2.next(of('call:incoming', callId));
    await ok(b2, 'call:accept', { callId });
    assert.equal((await alice.next(of('call:accepted', callId))).data.by.clientType, 'ios');
    assert.equal((await b1.next(of('call:answered_elsewhere', callId))).data.accepted, true);
    await ok(b2, 'call:hangup', { callId });
    await ended(alice, callId, 'hangup', 'kc-bob');
    const call: Call = { srv, callId, caller: 'kc-alice', callee: 'kc-bob', media: 'video' };
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'ios' });
    await quiet(alice, b1, b2);
  });

  test('without keepCalling a device that connects while ringing does not ring', async () => {
    const { callId, devices } = await ring(srv, 'nkc-alice', 'nkc-bob', { to: ['web'] });
    const [alice, b1] = devices;
    const b2 = await srv.connect('nkc-bob', 'native', 'ios');
    await quiet(b2);
    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'cancelled', 'nkc-alice');
    await expectRecordEvents([alice, b1, b2], callId, 'cancelled', 'cancelled');
    await quiet(alice, b1, b2);
  });

  test('glare: crossing invites resolve to one accepted call', async () => {
    // findGlare (calls/machine.ts): when B invites A while A→B is still ringing, B's invite is
    // taken as B's accept of the existing call: no second call, A gets call:accepted, B's
    // invite is acknowledged with the existing callId and `glare: true`, and B's other
    // devices are told answered_elsewhere.
    const { call, callId, devices } = await ring(srv, 'gl-alice', 'gl-bob');
    const [alice, b1, b2] = devices;

    const r = await ok(b1, 'call:invite', { callee: 'gl-alice', media: 'video' });
    assert.deepEqual(r.data, { callId, glare: true });
    const acc = await alice.next(of('call:accepted', callId));
    assert.equal(acc.data.by.clientType, 'web');
    assert.equal((await b2.next(of('call:answered_elsewhere', callId))).data.accepted, true);
    const live = srv.apps.flatMap((a) => a.engine.states('gl-alice'));
    assert.equal(live.length, 1, 'exactly one live call');
    await quiet(alice, b1, b2); // in particular, alice was never rung by bob

    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 glare' } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'v=0 glare');
    await ok(b1, 'call:hangup', { callId });
    await ended(alice, callId, 'hangup', 'gl-bob');
    const answered = { clientType: 'web', deviceId: acc.data.by.deviceId };
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', answered);
  });

  test('a non-party is refused and nothing is forwarded', async () => {
    const { call, callId, devices } = await ring(srv, 'np-alice', 'np-bob');
    const [alice, b1, b2] = devices;
    const eve = await srv.connect('np-eve');

    // While ringing.
    await refused(eve, 'call:accept', { callId }, 'not_in_call');
    await refused(eve, 'call:reject', { callId }, 'not_in_call');
    await refused(eve, 'call:hangup', { callId }, 'not_in_call');
    await refused(eve, 'call:offer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:ice', { callId, candidate: { candidate: 'evil' } }, 'not_in_call');
    await refused(eve, 'call:accept', { callId: `${callId}x` }, 'not_found');
    // Before the answer a callee device may not signal; the caller's offer is held for the
    // device that answers, and goes nowhere else.
    await refused(b2, 'call:ice', { callId, candidate: null }, 'invalid_state');
    await ok(alice, 'call:offer', { callId, sdp: 'v=0 early' });
    await quiet(alice, b1, b2, eve);

    await ok(b1, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    await b2.next(of('call:answered_elsewhere', callId));
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'v=0 early');

    // After the answer: strangers and the callee's other device.
    await refused(eve, 'call:offer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:answer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:ice', { callId, candidate: null }, 'not_in_call');
    await refused(eve, 'call:hangup', { callId }, 'not_in_call');
    await refused(eve, 'call:accept', { callId }, 'not_in_call');
    await refused(b2, 'call:offer', { callId, sdp: 'v=0 other' }, 'not_in_call');
    await refused(b2, 'call:hangup', { callId }, 'not_in_call');
    await quiet(alice, b1, b2, eve);

    // The call itself is unharmed.
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 real' } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'v=0 real');
    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'hangup', 'np-alice');
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'web' });
    await quiet(alice, b1, b2, eve); // eve never even sees the record
  });

  test('signals go only caller device ⇄ answering device; early ICE waits for the offer', async () => {
    const { call, callId, devices } = await ring(srv, 'rl-alice', 'rl-bob', {
      from: ['web', 'pc'],
    });
    const [a1, a2, b1, b2] = devices;
    await ok(b1, 'call:accept', { callId });
    await a1.next(of('call:accepted', callId));
    await b2.next(of('call:answered_elsewhere', callId));

    // ICE before the first offer is held, not dropped and not delivered yet.
    const c1 = { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' };
    const c2 = { candidate: 'candidate:2 1 udp 1 10.0.0.2 5000 typ host', sdpMLineIndex: 0 };
    a1.send({ type: 'call:ice', data: { callId, candidate: c1 } });
    a1.send({ type: 'call:ice', data: { callId, candidate: c2 } });
    await quiet(b1);
    a1.send({ type: 'call:offer', data: { callId, sdp: 'offer-1' } });
    // Delivered in order: the offer, then the held candidates.
    const first = await b1.next();
    assert.equal(first.type, 'call:offer');
    assert.equal(first.data.sdp, 'offer-1');
    assert.equal(first.data.from, 'rl-alice');
    const i1 = await b1.next();
    const i2 = await b1.next();
    assert.deepEqual(
      [i1.type, i1.data.candidate, i2.type, i2.data.candidate],
      ['call:ice', c1, 'call:ice', c2],
    );

    b1.send({ type: 'call:answer', data: { callId, sdp: 'answer-1' } });
    const ans = await a1.next(of('call:answer', callId));
    assert.equal(ans.data.sdp, 'answer-1');
    assert.equal(ans.data.from, 'rl-bob');
    b1.send({ type: 'call:ice', data: { callId, candidate: c1 } });
    assert.deepEqual((await a1.next(of('call:ice', callId))).data.candidate, c1);
    a1.send({ type: 'call:ice', data: { callId, candidate: null } });
    assert.equal((await b1.next(of('call:ice', callId))).data.candidate, null);

    // Renegotiation, from either side.
    b1.send({ type: 'call:offer', data: { callId, sdp: 'offer-2 from callee' } });
    assert.equal((await a1.next(of('call:offer', callId))).data.sdp, 'offer-2 from callee');
    a1.send({ type: 'call:answer', data: { callId, sdp: 'answer-2' } });
    assert.equal((await b1.next(of('call:answer', callId))).data.sdp, 'answer-2');
    a1.send({ type: 'call:offer', data: { callId, sdp: 'offer-3' } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'offer-3');
    b1.send({ type: 'call:answer', data: { callId, sdp: 'answer-3' } });
    assert.equal((await a1.next(of('call:answer', callId))).data.sdp, 'answer-3');

    // The SDP arrives exactly as sent whatever the sender escaped (the relay copies its JSON
    // literal), and it is the value the server read, not another member of the same name.
    const tricky = 'v=0\r\na="q" \\ μ 🎥\r\n';
    a1.send({ type: 'call:offer', data: { callId, sdp: tricky } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, tricky);
    a1.send(`{"type":"call:offer","data":{"callId":"${callId}","sdp":"x\\/y"}}`);
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'x/y');
    a1.send(`{"type":"call:offer","data":{"sdp":"decoy","callId":"${callId}","sdp":"real"}}`);
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'real');

    // Nothing leaked to either user's other device, nothing duplicated.
    await quiet(a1, a2, b1, b2);

    await ok(a1, 'call:hangup', { callId });
    await ended(b1, callId, 'hangup', 'rl-alice');
    await expectRecorded(call, [a1, a2, b1, b2], 'completed', 'hangup', { clientType: 'web' });
    await quiet(a1, a2, b1, b2);
  });
});

describe('native calls with a short invite lifetime', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 300, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('no_answer: an unanswered invite ends for everyone', async () => {
    const { call, callId, devices } = await ring(srv, 'na-alice', 'na-bob');
    for (const c of devices) await ended(c, callId, 'no_answer', null);
    const [rec] = await expectRecorded(call, devices, 'missed', 'no_answer', null);
    assert.ok(rec!.ringMs >= 250, `rang ${rec!.ringMs} ms`);
    await quiet(...devices);
    const row = await recordRow(srv, callId);
    assert.ok(row!.ring_ms! >= 250, `ring_ms ${row!.ring_ms}`);
  });
});

describe('native calls with busyPolicy ring', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100, busyPolicy: 'ring' },
    });
  });
  after(() => srv.close());

  test('a callee already in a call rings anyway (call waiting)', async () => {
    const { callId: first, devices } = await ring(srv, 'cw-carol', 'cw-bob', { to: ['web'] });
    const [carol, bob] = devices;
    const alice = await srv.connect('cw-alice');
    await ok(bob, 'call:accept', { callId: first });
    await carol.next(of('call:accepted', first));

    const { callId, devices: ringing } = await dial(alice, 'cw-bob');
    assert.equal(ringing, 1);
    const inc = await bob.next(of('call:incoming', callId));
    assert.equal(inc.data.caller, 'cw-alice');
    await quiet(alice, bob, carol);
    await ok(alice, 'call:hangup', { callId });
    await ended(bob, callId, 'cancelled', 'cw-alice');
    const call: Call = { srv, callId, caller: 'cw-alice', callee: 'cw-bob', media: 'video' };
    await expectRecorded(call, [alice, bob], 'cancelled', 'cancelled', null);
    // The first call still relays.
    carol.send({ type: 'call:offer', data: { callId: first, sdp: 'v=0 first' } });
    assert.equal((await bob.next(of('call:offer', first))).data.sdp, 'v=0 first');
    await ok(bob, 'call:hangup', { callId: first });
    await ended(carol, first, 'hangup', 'cw-bob');
  });
});
