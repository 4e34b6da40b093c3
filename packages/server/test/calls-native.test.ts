import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expectRecordRow,
  startServer,
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

/** Nothing else arrived at any of `clients`. */
async function quiet(...clients: TestClient[]): Promise<void> {
  const rest = await Promise.all(clients.map((c) => c.quiet()));
  rest.forEach((frames, i) => assert.deepEqual(frames, [], `client ${i} got unexpected frames`));
}

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
    const [rec] = await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup');
    assert.deepEqual(rec!.answeredBy, { deviceId: by.deviceId, clientType: 'web' });
    assert.equal(rec!.media, 'audio');
    assert.ok(rec!.startedAt);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'ring-alice',
      callee: 'ring-bob',
      media: 'audio',
      reason: 'hangup',
      answered: { clientType: 'web', deviceId: by.deviceId },
    });
  });

  test('the answering callee hangs up', async () => {
    const alice = await srv.connect('hu-alice');
    const bob = await srv.connect('hu-bob', 'native', 'android');
    const { callId } = await dial(alice, 'hu-bob');
    await bob.next(of('call:incoming', callId));
    await ok(bob, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    await ok(bob, 'call:hangup', { callId });
    await ended(alice, callId, 'hangup', 'hu-bob');
    await expectRecordEvents([alice, bob], callId, 'completed', 'hangup');
    await quiet(alice, bob);
    await expectRecordRow(srv, callId, {
      caller: 'hu-alice',
      callee: 'hu-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'android' },
    });
  });

  test('reject: the caller gets rejected, the other device accepted:false', async () => {
    const alice = await srv.connect('rj-alice');
    const b1 = await srv.connect('rj-bob', 'native', 'web');
    const b2 = await srv.connect('rj-bob', 'native', 'android');
    const { callId } = await dial(alice, 'rj-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));
    await ok(b2, 'call:reject', { callId });
    await ended(alice, callId, 'rejected', 'rj-bob');
    const elsewhere = await b1.next(of('call:answered_elsewhere', callId));
    assert.equal(elsewhere.data.accepted, false);
    assert.equal(elsewhere.data.fromClientType, 'android');
    const [rec] = await expectRecordEvents([alice, b1, b2], callId, 'rejected', 'rejected');
    assert.equal(rec!.answeredBy, null);
    assert.equal(rec!.duration, 0);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'rj-alice',
      callee: 'rj-bob',
      media: 'video',
      reason: 'rejected',
      answered: null,
    });
  });

  test('busy: a callee in an accepted call makes the caller get busy at once', async () => {
    const carol = await srv.connect('busy-carol');
    const bob = await srv.connect('busy-bob');
    const alice = await srv.connect('busy-alice');
    const { callId: first } = await dial(carol, 'busy-bob');
    await bob.next(of('call:incoming', first));
    await ok(bob, 'call:accept', { callId: first });
    await carol.next(of('call:accepted', first));

    const callId = await invite(alice, 'busy-bob');
    await ended(alice, callId, 'busy', 'busy-bob');
    await expectRecordEvents([alice, bob], callId, 'busy', 'busy');
    await quiet(alice, bob, carol); // bob's device never rang
    await expectRecordRow(srv, callId, {
      caller: 'busy-alice',
      callee: 'busy-bob',
      media: 'video',
      reason: 'busy',
      answered: null,
    });

    // The first call is untouched.
    carol.send({ type: 'call:offer', data: { callId: first, sdp: 'v=0 first' } });
    assert.equal((await bob.next(of('call:offer', first))).data.sdp, 'v=0 first');
    await ok(carol, 'call:hangup', { callId: first });
    await ended(bob, first, 'hangup', 'busy-carol');
  });

  test('no_answer reported by the caller ends the ringing on every callee device', async () => {
    const alice = await srv.connect('cna-alice');
    const b1 = await srv.connect('cna-bob', 'native', 'web');
    const b2 = await srv.connect('cna-bob', 'native', 'ios');
    const { callId } = await dial(alice, 'cna-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));
    await ok(alice, 'call:hangup', { callId, reason: 'no_answer' });
    await ended(b1, callId, 'no_answer', null);
    await ended(b2, callId, 'no_answer', null);
    await expectRecordEvents([alice, b1, b2], callId, 'missed', 'no_answer');
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'cna-alice',
      callee: 'cna-bob',
      media: 'video',
      reason: 'no_answer',
      answered: null,
    });
  });

  test('cancel: the caller hangs up while ringing; every callee device is told', async () => {
    const alice = await srv.connect('cx-alice');
    const b1 = await srv.connect('cx-bob', 'native', 'web');
    const b2 = await srv.connect('cx-bob', 'native', 'ios');
    const { callId } = await dial(alice, 'cx-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));
    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'cancelled', 'cx-alice');
    await ended(b2, callId, 'cancelled', 'cx-alice');
    await expectRecordEvents([alice, b1, b2], callId, 'cancelled', 'cancelled');
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'cx-alice',
      callee: 'cx-bob',
      media: 'video',
      reason: 'cancelled',
      answered: null,
    });
    // The call is gone: a late accept finds nothing.
    await refused(b1, 'call:accept', { callId }, 'not_found');
  });

  test('disconnect: the caller drops mid-call; the callee hears after the grace', async () => {
    const a1 = await srv.connect('dc-alice');
    const a2 = await srv.connect('dc-alice', 'native', 'pc'); // stays online for the record
    const bob = await srv.connect('dc-bob');
    const { callId } = await dial(a1, 'dc-bob');
    await bob.next(of('call:incoming', callId));
    await ok(bob, 'call:accept', { callId });
    await a1.next(of('call:accepted', callId));
    a1.close();
    await ended(bob, callId, 'disconnected', 'dc-alice');
    await expectRecordEvents([a2, bob], callId, 'completed', 'disconnected');
    await quiet(a2, bob);
    await expectRecordRow(srv, callId, {
      caller: 'dc-alice',
      callee: 'dc-bob',
      media: 'video',
      reason: 'disconnected',
      answered: { clientType: 'web' },
    });
  });

  test('disconnect: the answering device drops mid-call; the caller hears', async () => {
    const alice = await srv.connect('dd-alice');
    const bob = await srv.connect('dd-bob', 'native', 'ios');
    const { callId } = await dial(alice, 'dd-bob');
    await bob.next(of('call:incoming', callId));
    await ok(bob, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    bob.close();
    await ended(alice, callId, 'disconnected', 'dd-bob');
    await expectRecordEvents([alice], callId, 'completed', 'disconnected');
    await quiet(alice);
    await expectRecordRow(srv, callId, {
      caller: 'dd-alice',
      callee: 'dd-bob',
      media: 'video',
      reason: 'disconnected',
      answered: { clientType: 'ios' },
    });
  });

  test('offline: a callee with no device ends the call at once', async () => {
    const alice = await srv.connect('off-alice');
    const callId = await invite(alice, 'off-bob');
    await ended(alice, callId, 'offline', null);
    await expectRecordEvents([alice], callId, 'missed', 'offline');
    await quiet(alice);
    await expectRecordRow(srv, callId, {
      caller: 'off-alice',
      callee: 'off-bob',
      media: 'video',
      reason: 'offline',
      answered: null,
    });
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
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup');
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'kc-alice',
      callee: 'kc-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'ios' },
    });
  });

  test('without keepCalling a device that connects while ringing does not ring', async () => {
    const alice = await srv.connect('nkc-alice');
    const b1 = await srv.connect('nkc-bob');
    const { callId } = await dial(alice, 'nkc-bob');
    await b1.next(of('call:incoming', callId));
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
    const alice = await srv.connect('gl-alice');
    const b1 = await srv.connect('gl-bob', 'native', 'web');
    const b2 = await srv.connect('gl-bob', 'native', 'ios');
    const { callId } = await dial(alice, 'gl-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));

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
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup');
    await expectRecordRow(srv, callId, {
      caller: 'gl-alice',
      callee: 'gl-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web', deviceId: acc.data.by.deviceId },
    });
  });

  test('a non-party is refused and nothing is forwarded', async () => {
    const alice = await srv.connect('np-alice');
    const b1 = await srv.connect('np-bob', 'native', 'web');
    const b2 = await srv.connect('np-bob', 'native', 'ios');
    const eve = await srv.connect('np-eve');
    const { callId } = await dial(alice, 'np-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));

    // While ringing.
    await refused(eve, 'call:accept', { callId }, 'not_in_call');
    await refused(eve, 'call:reject', { callId }, 'not_in_call');
    await refused(eve, 'call:hangup', { callId }, 'not_in_call');
    await refused(eve, 'call:offer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:ice', { callId, candidate: { candidate: 'evil' } }, 'not_in_call');
    await refused(eve, 'call:accept', { callId: `${callId}x` }, 'not_found');
    // Signals before the answer go nowhere, even from the parties.
    await refused(alice, 'call:offer', { callId, sdp: 'v=0 early' }, 'invalid_state');
    await quiet(alice, b1, b2, eve);

    await ok(b1, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    await b2.next(of('call:answered_elsewhere', callId));

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
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup');
    await quiet(alice, b1, b2, eve); // eve never even sees the record
    await expectRecordRow(srv, callId, {
      caller: 'np-alice',
      callee: 'np-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });

  test('signals go only caller device ⇄ answering device; early ICE waits for the offer', async () => {
    const a1 = await srv.connect('rl-alice', 'native', 'web');
    const a2 = await srv.connect('rl-alice', 'native', 'pc');
    const b1 = await srv.connect('rl-bob', 'native', 'web');
    const b2 = await srv.connect('rl-bob', 'native', 'ios');
    const { callId } = await dial(a1, 'rl-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));
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

    // Nothing leaked to either user's other device, nothing duplicated.
    await quiet(a1, a2, b1, b2);

    await ok(a1, 'call:hangup', { callId });
    await ended(b1, callId, 'hangup', 'rl-alice');
    await expectRecordEvents([a1, a2, b1, b2], callId, 'completed', 'hangup');
    await quiet(a1, a2, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'rl-alice',
      callee: 'rl-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });
});

describe('native calls with a short invite lifetime', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 300, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('no_answer: an unanswered invite ends for everyone', async () => {
    const alice = await srv.connect('na-alice');
    const b1 = await srv.connect('na-bob', 'native', 'web');
    const b2 = await srv.connect('na-bob', 'native', 'ios');
    const { callId } = await dial(alice, 'na-bob');
    await b1.next(of('call:incoming', callId));
    await b2.next(of('call:incoming', callId));
    for (const c of [alice, b1, b2]) await ended(c, callId, 'no_answer', null);
    const [rec] = await expectRecordEvents([alice, b1, b2], callId, 'missed', 'no_answer');
    assert.ok(rec!.ringMs >= 250, `rang ${rec!.ringMs} ms`);
    await quiet(alice, b1, b2);
    const row = await expectRecordRow(srv, callId, {
      caller: 'na-alice',
      callee: 'na-bob',
      media: 'video',
      reason: 'no_answer',
      answered: null,
    });
    assert.ok(row.ring_ms! >= 250, `ring_ms ${row.ring_ms}`);
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
    const carol = await srv.connect('cw-carol');
    const bob = await srv.connect('cw-bob');
    const alice = await srv.connect('cw-alice');
    const { callId: first } = await dial(carol, 'cw-bob');
    await bob.next(of('call:incoming', first));
    await ok(bob, 'call:accept', { callId: first });
    await carol.next(of('call:accepted', first));

    const { callId, devices } = await dial(alice, 'cw-bob');
    assert.equal(devices, 1);
    const inc = await bob.next(of('call:incoming', callId));
    assert.equal(inc.data.caller, 'cw-alice');
    await quiet(alice, bob, carol);
    await ok(alice, 'call:hangup', { callId });
    await ended(bob, callId, 'cancelled', 'cw-alice');
    await expectRecordEvents([alice, bob], callId, 'cancelled', 'cancelled');
    await expectRecordRow(srv, callId, {
      caller: 'cw-alice',
      callee: 'cw-bob',
      media: 'video',
      reason: 'cancelled',
      answered: null,
    });
    // The first call still relays.
    carol.send({ type: 'call:offer', data: { callId: first, sdp: 'v=0 first' } });
    assert.equal((await bob.next(of('call:offer', first))).data.sdp, 'v=0 first');
    await ok(bob, 'call:hangup', { callId: first });
    await ended(carol, first, 'hangup', 'cw-bob');
  });
});
