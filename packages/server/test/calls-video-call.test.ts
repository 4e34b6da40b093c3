import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  callStarter,
  recordCheck,
  quiet,
  startServer,
  type Call,
  type Frame,
  type TestClient,
  type TestServer,
} from './harness.ts';

/**
 * 1:1 calls over the video_call dialect (`/ws/video-call`, specs/video-call-json.md), end to
 * end over real sockets: the frames each device gets, the `call_record` frame both parties get
 * and the stored `call_records` row. video_call names a call by its two parties; Parley adds
 * `call_id`, `reason`, `media` and friends to what it sends.
 */

const vc = (
  type: string,
  caller: string,
  callee: string,
  extra: Record<string, unknown> = {},
): Frame => ({
  type: 'video_call',
  data: { type, caller_userid: caller, callee_userid: callee, ...extra },
});

const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === 'video_call' && f.data?.type === type && f.data.call_id === callId;

/** Waits for the `call_request` a callee device gets and checks its shape. */
async function incoming(c: TestClient, caller: string, callee: string): Promise<Frame> {
  const f = await c.next(
    (x) =>
      x.type === 'video_call' &&
      x.data?.type === 'call_request' &&
      x.data.caller_userid === caller &&
      x.data.callee_userid === callee,
  );
  assert.equal(typeof f.data.call_id, 'string');
  assert.equal(f.data.caller_name, caller.toUpperCase());
  return f.data as Frame;
}

/** `caller` sends call_request; every device in `rings` gets it. Returns the call id. */
async function request(
  caller: TestClient,
  from: string,
  to: string,
  rings: TestClient[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  caller.send(vc('call_request', from, to, extra));
  const got = await Promise.all(rings.map((c) => incoming(c, from, to)));
  const callId = got[0]!.call_id as string;
  for (const g of got) assert.equal(g.call_id, callId, 'every device rings for the same call');
  return callId;
}

/** Sends `frame`, which must be refused with an error frame of `code`. */
async function refused(c: TestClient, frame: Frame, code: string): Promise<void> {
  c.send(frame);
  const e = await c.next((f) => f.type === 'video_call' && f.data?.type === 'error');
  assert.equal(e.data.code, code, `${JSON.stringify(frame)} → ${JSON.stringify(e)}`);
  assert.equal(e.data.request_type, (frame.data as Frame).type);
  assert.equal(typeof e.data.message, 'string');
}

/** The end frame of `callId`: the spec type for the reason, with Parley's `reason`. */
async function ended(c: TestClient, callId: string, type: string, reason: string) {
  const f = await c.next(of(type, callId));
  assert.equal(f.data.reason, reason, JSON.stringify(f));
  return f.data as Frame;
}

/**
 * Starts a call (see callStarter). A video call's call_request names no `media`, like one from a
 * client that leaves it to the default.
 */
const ring = callStarter('video_call', (from, to, { caller, callee, media }) =>
  request(from, caller, callee, to, media === 'video' ? {} : { media }),
);

/** The end of `call`: every client in `told` gets its `call_record`, and the row agrees. */
const expectRecorded = recordCheck(async (told, { callId, caller, callee }, status, reason) => {
  const records = await Promise.all(told.map((c) => c.next(of('call_record', callId))));
  for (const r of records) {
    assert.equal(r.data.status, status);
    assert.equal(r.data.reason, reason);
    assert.equal(r.data.caller_userid, caller);
    assert.equal(r.data.callee_userid, callee);
    assert.equal(typeof r.data.ring_ms, 'number');
    assert.ok(r.data.ended_at);
  }
  return records.map((r) => r.data as Frame);
});

describe('video_call calls', () => {
  let srv: TestServer;
  const connect = (user: string, clientType = 'web') => srv.connect(user, 'video_call', clientType);
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 },
      limits: { rateBurst: 1000 },
    });
  });
  after(() => srv.close());

  test('rings every device; first answer wins; the other device gets handled_answer', async () => {
    const [A, B] = ['vring-alice', 'vring-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { media: 'audio' });
    const [alice, b1, b2] = devices;
    await quiet(alice); // video_call has no ringing notice

    b1.send(vc('call_accept', A, B));
    const acc = await alice.next(of('call_accept', callId));
    assert.equal(acc.data.caller_userid, A);
    assert.equal(acc.data.callee_userid, B);
    assert.equal(acc.data.from_client_type, 'web');
    const handled = await b2.next(of('handled_answer', callId));
    assert.equal(handled.data.accepted, true);
    assert.equal(handled.data.from_client_type, 'web');
    assert.equal(typeof handled.data.timetag, 'number');

    // Too late from the second device.
    await refused(b2, vc('call_accept', A, B), 'invalid_state');
    await refused(b2, vc('call_reject', A, B), 'invalid_state');

    alice.send(vc('call_end', A, B));
    await ended(b1, callId, 'call_end', 'hangup');
    const [rec] = await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', {
      clientType: 'web',
    });
    assert.equal(rec!.media, 'audio');
    assert.ok(rec!.started_at);
    await quiet(alice, b1, b2);
  });

  test('the answering callee hangs up', async () => {
    const [A, B] = ['vhu-alice', 'vhu-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { to: ['android'] });
    const [alice, bob] = devices;
    bob.send(vc('call_accept', A, B));
    await alice.next(of('call_accept', callId));
    bob.send(vc('call_end', A, B));
    await ended(alice, callId, 'call_end', 'hangup');
    await expectRecorded(call, [alice, bob], 'completed', 'hangup', { clientType: 'android' });
    await quiet(alice, bob);
  });

  test('reject: the caller gets call_reject, the other device accepted:false', async () => {
    const [A, B] = ['vrj-alice', 'vrj-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { to: ['web', 'android'] });
    const [alice, b1, b2] = devices;
    b2.send(vc('call_reject', A, B));
    await ended(alice, callId, 'call_reject', 'rejected');
    const handled = await b1.next(of('handled_answer', callId));
    assert.equal(handled.data.accepted, false);
    assert.equal(handled.data.from_client_type, 'android');
    await expectRecorded(call, [alice, b1, b2], 'rejected', 'rejected', null);
    await quiet(alice, b1, b2);
  });

  test('busy: a callee in an accepted call makes the caller get call_reject busy', async () => {
    const [A, B, C] = ['vbusy-alice', 'vbusy-bob', 'vbusy-carol'];
    const { callId: first, devices } = await ring(srv, C, B, { to: ['web'] });
    const [carol, bob] = devices;
    const alice = await connect(A);
    bob.send(vc('call_accept', C, B));
    await carol.next(of('call_accept', first));

    alice.send(vc('call_request', A, B));
    const busy = await alice.next(
      (f) => f.data?.type === 'call_reject' && f.data.caller_userid === A,
    );
    assert.equal(busy.data.reason, 'busy');
    assert.equal(busy.data.callee_userid, B);
    const call: Call = { srv, callId: busy.data.call_id, caller: A, callee: B, media: 'video' };
    await expectRecorded(call, [alice, bob], 'busy', 'busy', null);
    await quiet(alice, bob, carol); // bob never rang

    carol.send(vc('rtc_offer', C, B, { sdp: 'v=0 first' }));
    assert.equal((await bob.next(of('rtc_offer', first))).data.sdp, 'v=0 first');
    carol.send(vc('call_end', C, B));
    await ended(bob, first, 'call_end', 'hangup');
  });

  test('client no_answer from the caller stops every callee device', async () => {
    const [A, B] = ['vcna-alice', 'vcna-bob'];
    const { call, callId, devices } = await ring(srv, A, B);
    const [alice, b1, b2] = devices;
    alice.send(vc('no_answer', A, B));
    await ended(b1, callId, 'no_answer', 'no_answer');
    await ended(b2, callId, 'no_answer', 'no_answer');
    await expectRecorded(call, [alice, b1, b2], 'missed', 'no_answer', null);
    await quiet(alice, b1, b2);
  });

  test('client no_answer from a callee device: the caller and the other device hear it, the sender gets no echo', async () => {
    const [A, B] = ['vcnb-alice', 'vcnb-bob'];
    const { call, callId, devices } = await ring(srv, A, B);
    const [alice, b1, b2] = devices;
    b2.send(vc('no_answer', A, B));
    for (const c of [alice, b1]) await ended(c, callId, 'no_answer', 'no_answer');
    await expectRecorded(call, [alice, b1, b2], 'missed', 'no_answer', null);
    // b2 got its call_record and nothing else: no no_answer of its own back.
    await quiet(alice, b1, b2);
  });

  test('cancel: call_end from the caller while ringing', async () => {
    const [A, B] = ['vcx-alice', 'vcx-bob'];
    const { call, callId, devices } = await ring(srv, A, B);
    const [alice, b1, b2] = devices;
    alice.send(vc('call_end', A, B));
    await ended(b1, callId, 'call_end', 'cancelled');
    await ended(b2, callId, 'call_end', 'cancelled');
    await expectRecorded(call, [alice, b1, b2], 'cancelled', 'cancelled', null);
    await quiet(alice, b1, b2);
    // The call is gone: a late accept finds nothing for the pair.
    await refused(b1, vc('call_accept', A, B), 'not_found');
  });

  test('disconnect: the caller drops mid-call; the callee gets call_end disconnected', async () => {
    const [A, B] = ['vdc-alice', 'vdc-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { from: ['web', 'pc'], to: ['web'] });
    const [a1, a2, bob] = devices; // a2 stays online for the record
    bob.send(vc('call_accept', A, B));
    await a1.next(of('call_accept', callId));
    a1.close();
    await ended(bob, callId, 'call_end', 'disconnected');
    await expectRecorded(call, [a2, bob], 'completed', 'disconnected', { clientType: 'web' });
    await quiet(a2, bob);
  });

  test('disconnect: the answering device drops mid-call; the caller hears', async () => {
    const [A, B] = ['vdd-alice', 'vdd-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { to: ['ios'] });
    const [alice, bob] = devices;
    bob.send(vc('call_accept', A, B));
    await alice.next(of('call_accept', callId));
    bob.close();
    await ended(alice, callId, 'call_end', 'disconnected');
    await expectRecorded(call, [alice], 'completed', 'disconnected', { clientType: 'ios' });
    await quiet(alice);
  });

  test('offline: a callee with no device ends the call at once (no_answer, offline)', async () => {
    const [A, B] = ['voff-alice', 'voff-bob'];
    const alice = await connect(A);
    alice.send(vc('call_request', A, B));
    const f = await alice.next((x) => x.data?.type === 'no_answer');
    assert.equal(f.data.reason, 'offline');
    assert.equal(f.data.callee_userid, B);
    const call: Call = { srv, callId: f.data.call_id, caller: A, callee: B, media: 'video' };
    await expectRecorded(call, [alice], 'missed', 'offline', null);
    await quiet(alice);
  });

  test('keep_calling: callee devices that connect while ringing ring too', async () => {
    const [A, B] = ['vkc-alice', 'vkc-bob'];
    const alice = await connect(A);
    alice.send(vc('call_request', A, B, { keep_calling: true }));
    await quiet(alice); // not ended as offline
    const b1 = await connect(B, 'web');
    const callId = (await incoming(b1, A, B)).call_id as string;
    const b2 = await connect(B, 'ios');
    assert.equal((await incoming(b2, A, B)).call_id, callId);
    b2.send(vc('call_accept', A, B));
    assert.equal((await alice.next(of('call_accept', callId))).data.from_client_type, 'ios');
    assert.equal((await b1.next(of('handled_answer', callId))).data.accepted, true);
    b2.send(vc('call_end', A, B));
    await ended(alice, callId, 'call_end', 'hangup');
    const call: Call = { srv, callId, caller: A, callee: B, media: 'video' };
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'ios' });
    await quiet(alice, b1, b2);
  });

  test('glare: crossing call_requests resolve to one accepted call', async () => {
    // findGlare (calls/machine.ts): bob's call_request to alice while alice→bob is still
    // ringing is taken as bob's call_accept of that call. No second call rings alice; alice
    // gets call_accept; bob's requesting device gets call_accept for the existing call (with
    // `glare: true`, alice as caller), and bob's other devices get handled_answer.
    const [A, B] = ['vgl-alice', 'vgl-bob'];
    const { call, callId, devices } = await ring(srv, A, B);
    const [alice, b1, b2] = devices;

    b1.send(vc('call_request', B, A));
    const acc = await alice.next(of('call_accept', callId));
    assert.equal(acc.data.from_client_type, 'web');
    const told = await b1.next(of('call_accept', callId));
    assert.equal(told.data.caller_userid, A);
    assert.equal(told.data.callee_userid, B);
    assert.equal(told.data.glare, true);
    assert.equal((await b2.next(of('handled_answer', callId))).data.accepted, true);
    const live = srv.apps.flatMap((a) => a.engine.states(A));
    assert.equal(live.length, 1, 'exactly one live call');
    await quiet(alice, b1, b2); // alice never got a call_request

    alice.send(vc('rtc_offer', A, B, { sdp: 'v=0 glare', sdp_type: 'offer' }));
    assert.equal((await b1.next(of('rtc_offer', callId))).data.sdp, 'v=0 glare');
    b1.send(vc('call_end', A, B));
    await ended(alice, callId, 'call_end', 'hangup');
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'web' });
  });

  test('a non-party and spoofed ids are refused; nothing is forwarded', async () => {
    const [A, B, E] = ['vnp-alice', 'vnp-bob', 'vnp-eve'];
    const { call, callId, devices } = await ring(srv, A, B);
    const [alice, b1, b2] = devices;
    const eve = await connect(E);
    const cand = { candidate: 'candidate:evil', sdpMid: '0', sdpMLineIndex: 0 };

    const whileRinging: Array<[Frame, string]> = [
      // Eve naming the pair: she is neither party.
      [vc('call_accept', A, B), 'forbidden'],
      [vc('call_reject', A, B), 'forbidden'],
      [vc('call_end', A, B), 'forbidden'],
      [vc('no_answer', A, B), 'forbidden'],
      [vc('rtc_offer', A, B, { sdp: 'v=0 evil' }), 'forbidden'],
      [vc('rtc_ice_candidate', A, B, { candidate: cand }), 'forbidden'],
      [vc('handled_answer', A, B), 'forbidden'],
      // Eve spoofing the caller.
      [vc('call_request', A, B), 'forbidden'],
      // Eve naming herself but pointing at the call by its id.
      [vc('call_accept', A, E, { call_id: callId }), 'not_in_call'],
      [vc('call_end', E, B, { call_id: callId }), 'not_in_call'],
      [vc('rtc_offer', E, B, { sdp: 'v=0 evil', call_id: callId }), 'not_in_call'],
      [vc('handled_answer', E, B, { call_id: callId }), 'not_in_call'],
      // Eve naming herself: no such call.
      [vc('call_end', E, B), 'not_found'],
    ];
    for (const [frame, code] of whileRinging) await refused(eve, frame, code);
    // Bob may not pretend to be the caller either.
    await refused(b1, vc('call_end', A, E), 'forbidden');
    await quiet(alice, b1, b2, eve);

    b1.send(vc('call_accept', A, B));
    await alice.next(of('call_accept', callId));
    await b2.next(of('handled_answer', callId));

    const afterAccept: Array<[TestClient, Frame, string]> = [
      [eve, vc('rtc_offer', A, B, { sdp: 'v=0 evil' }), 'forbidden'],
      [eve, vc('rtc_answer', A, B, { sdp: 'v=0 evil' }), 'forbidden'],
      [eve, vc('call_end', A, B), 'forbidden'],
      [eve, vc('rtc_ice_candidate', E, B, { candidate: cand, call_id: callId }), 'not_in_call'],
      [b2, vc('rtc_offer', A, B, { sdp: 'v=0 other device' }), 'not_in_call'],
      [b2, vc('call_end', A, B), 'not_in_call'],
    ];
    for (const [c, frame, code] of afterAccept) await refused(c, frame, code);
    await quiet(alice, b1, b2, eve);

    alice.send(vc('rtc_offer', A, B, { sdp: 'v=0 real', sdp_type: 'offer' }));
    assert.equal((await b1.next(of('rtc_offer', callId))).data.sdp, 'v=0 real');
    alice.send(vc('call_end', A, B));
    await ended(b1, callId, 'call_end', 'hangup');
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'web' });
    await quiet(alice, b1, b2, eve);
  });

  test('handled_answer from a client reaches only the sender’s other devices', async () => {
    const [A, B] = ['vha-alice', 'vha-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { to: ['web', 'pc'] });
    const [alice, b1, b2] = devices;
    b1.send(vc('handled_answer', A, B));
    const h = await b2.next(of('handled_answer', callId));
    assert.equal(h.data.caller_userid, A);
    assert.equal(h.data.callee_userid, B);
    await quiet(alice, b1, b2);
    alice.send(vc('call_end', A, B));
    await ended(b1, callId, 'call_end', 'cancelled');
    await ended(b2, callId, 'call_end', 'cancelled');
    await expectRecorded(call, [alice, b1, b2], 'cancelled', 'cancelled', null);
  });

  test('signals go only caller device ⇄ answering device; early ICE waits for the offer', async () => {
    const [A, B] = ['vrl-alice', 'vrl-bob'];
    const { call, callId, devices } = await ring(srv, A, B, { from: ['web', 'pc'] });
    const [a1, a2, b1, b2] = devices;
    // A callee device may not signal before it answers.
    await refused(b2, vc('rtc_answer', A, B, { sdp: 'too early' }), 'invalid_state');
    b1.send(vc('call_accept', A, B));
    await a1.next(of('call_accept', callId));
    await b2.next(of('handled_answer', callId));

    const c1 = { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' };
    const c2 = { candidate: 'candidate:2 1 udp 1 10.0.0.2 5000 typ host', sdpMLineIndex: 0 };
    a1.send(vc('rtc_ice_candidate', A, B, { candidate: c1 }));
    a1.send(vc('rtc_ice_candidate', A, B, { candidate: c2 }));
    await quiet(b1); // held until the offer
    a1.send(vc('rtc_offer', A, B, { sdp: 'offer-1', sdp_type: 'offer' }));
    const first = await b1.next();
    assert.deepEqual(first.data, {
      type: 'rtc_offer',
      caller_userid: A,
      callee_userid: B,
      call_id: callId,
      sdp: 'offer-1',
      sdp_type: 'offer',
    });
    const i1 = await b1.next();
    const i2 = await b1.next();
    assert.deepEqual(
      [i1.data.type, i1.data.candidate, i2.data.type, i2.data.candidate],
      ['rtc_ice_candidate', c1, 'rtc_ice_candidate', c2],
    );

    b1.send(vc('rtc_answer', A, B, { sdp: 'answer-1', sdp_type: 'answer' }));
    const ans = await a1.next(of('rtc_answer', callId));
    assert.equal(ans.data.sdp, 'answer-1');
    assert.equal(ans.data.sdp_type, 'answer');
    b1.send(vc('rtc_ice_candidate', A, B, { candidate: c2 }));
    assert.deepEqual((await a1.next(of('rtc_ice_candidate', callId))).data.candidate, c2);
    a1.send(vc('rtc_ice_candidate', A, B, { candidate: null }));
    assert.equal((await b1.next(of('rtc_ice_candidate', callId))).data.candidate, null);

    // Renegotiation, from either side.
    b1.send(vc('rtc_offer', A, B, { sdp: 'offer-2 from callee' }));
    assert.equal((await a1.next(of('rtc_offer', callId))).data.sdp, 'offer-2 from callee');
    a1.send(vc('rtc_answer', A, B, { sdp: 'answer-2' }));
    assert.equal((await b1.next(of('rtc_answer', callId))).data.sdp, 'answer-2');
    a1.send(vc('rtc_offer', A, B, { sdp: 'offer-3' }));
    assert.equal((await b1.next(of('rtc_offer', callId))).data.sdp, 'offer-3');
    b1.send(vc('rtc_answer', A, B, { sdp: 'answer-3' }));
    assert.equal((await a1.next(of('rtc_answer', callId))).data.sdp, 'answer-3');

    await quiet(a1, a2, b1, b2);

    b1.send(vc('call_end', A, B));
    await ended(a1, callId, 'call_end', 'hangup');
    await expectRecorded(call, [a1, a2, b1, b2], 'completed', 'hangup', { clientType: 'web' });
    await quiet(a1, a2, b1, b2);
  });
});

describe('video_call calls with a short invite lifetime', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 300, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('no_answer: an unanswered call_request ends for everyone', async () => {
    const { call, callId, devices } = await ring(srv, 'vna-alice', 'vna-bob');
    for (const c of devices) await ended(c, callId, 'no_answer', 'no_answer');
    const [rec] = await expectRecorded(call, devices, 'missed', 'no_answer', null);
    assert.ok(rec!.ring_ms >= 250, `rang ${rec!.ring_ms} ms`);
    await quiet(...devices);
  });
});

describe('video_call calls with busyPolicy ring', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100, busyPolicy: 'ring' },
    });
  });
  after(() => srv.close());

  test('a callee already in a call rings anyway', async () => {
    const [A, B, C] = ['vcw-alice', 'vcw-bob', 'vcw-carol'];
    const { callId: first, devices } = await ring(srv, C, B, { to: ['web'] });
    const [carol, bob] = devices;
    const alice = await srv.connect(A, 'video_call');
    bob.send(vc('call_accept', C, B));
    await carol.next(of('call_accept', first));

    const callId = await request(alice, A, B, [bob]);
    assert.notEqual(callId, first);
    await quiet(alice, bob, carol);
    bob.send(vc('call_reject', A, B));
    await ended(alice, callId, 'call_reject', 'rejected');
    const call: Call = { srv, callId, caller: A, callee: B, media: 'video' };
    await expectRecorded(call, [alice, bob], 'rejected', 'rejected', null);
    // The first call is still up.
    bob.send(vc('rtc_offer', C, B, { sdp: 'v=0 first' }));
    assert.equal((await carol.next(of('rtc_offer', first))).data.sdp, 'v=0 first');
    carol.send(vc('call_end', C, B));
    await ended(bob, first, 'call_end', 'hangup');
  });
});
