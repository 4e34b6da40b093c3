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

/** Every client gets the `call_record` of `callId` with this outcome. */
async function expectRecordEvents(
  clients: TestClient[],
  callId: string,
  status: string,
  reason: string,
  parties: [string, string],
): Promise<Frame[]> {
  const records = await Promise.all(clients.map((c) => c.next(of('call_record', callId))));
  for (const r of records) {
    assert.equal(r.data.status, status);
    assert.equal(r.data.reason, reason);
    assert.equal(r.data.caller_userid, parties[0]);
    assert.equal(r.data.callee_userid, parties[1]);
    assert.equal(typeof r.data.ring_ms, 'number');
    assert.ok(r.data.ended_at);
  }
  return records.map((r) => r.data as Frame);
}

async function quiet(...clients: TestClient[]): Promise<void> {
  const rest = await Promise.all(clients.map((c) => c.quiet()));
  rest.forEach((frames, i) => assert.deepEqual(frames, [], `client ${i} got unexpected frames`));
}

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
    const alice = await connect('vring-alice');
    const b1 = await connect('vring-bob', 'web');
    const b2 = await connect('vring-bob', 'ios');
    const callId = await request(alice, 'vring-alice', 'vring-bob', [b1, b2], { media: 'audio' });
    await quiet(alice); // video_call has no ringing notice

    b1.send(vc('call_accept', 'vring-alice', 'vring-bob'));
    const acc = await alice.next(of('call_accept', callId));
    assert.equal(acc.data.caller_userid, 'vring-alice');
    assert.equal(acc.data.callee_userid, 'vring-bob');
    assert.equal(acc.data.from_client_type, 'web');
    const handled = await b2.next(of('handled_answer', callId));
    assert.equal(handled.data.accepted, true);
    assert.equal(handled.data.from_client_type, 'web');
    assert.equal(typeof handled.data.timetag, 'number');

    // Too late from the second device.
    await refused(b2, vc('call_accept', 'vring-alice', 'vring-bob'), 'invalid_state');
    await refused(b2, vc('call_reject', 'vring-alice', 'vring-bob'), 'invalid_state');

    alice.send(vc('call_end', 'vring-alice', 'vring-bob'));
    await ended(b1, callId, 'call_end', 'hangup');
    const [rec] = await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup', [
      'vring-alice',
      'vring-bob',
    ]);
    assert.equal(rec!.media, 'audio');
    assert.ok(rec!.started_at);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vring-alice',
      callee: 'vring-bob',
      media: 'audio',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });

  test('the answering callee hangs up', async () => {
    const alice = await connect('vhu-alice');
    const bob = await connect('vhu-bob', 'android');
    const callId = await request(alice, 'vhu-alice', 'vhu-bob', [bob]);
    bob.send(vc('call_accept', 'vhu-alice', 'vhu-bob'));
    await alice.next(of('call_accept', callId));
    bob.send(vc('call_end', 'vhu-alice', 'vhu-bob'));
    await ended(alice, callId, 'call_end', 'hangup');
    await expectRecordEvents([alice, bob], callId, 'completed', 'hangup', ['vhu-alice', 'vhu-bob']);
    await quiet(alice, bob);
    await expectRecordRow(srv, callId, {
      caller: 'vhu-alice',
      callee: 'vhu-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'android' },
    });
  });

  test('reject: the caller gets call_reject, the other device accepted:false', async () => {
    const alice = await connect('vrj-alice');
    const b1 = await connect('vrj-bob', 'web');
    const b2 = await connect('vrj-bob', 'android');
    const callId = await request(alice, 'vrj-alice', 'vrj-bob', [b1, b2]);
    b2.send(vc('call_reject', 'vrj-alice', 'vrj-bob'));
    await ended(alice, callId, 'call_reject', 'rejected');
    const handled = await b1.next(of('handled_answer', callId));
    assert.equal(handled.data.accepted, false);
    assert.equal(handled.data.from_client_type, 'android');
    await expectRecordEvents([alice, b1, b2], callId, 'rejected', 'rejected', [
      'vrj-alice',
      'vrj-bob',
    ]);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vrj-alice',
      callee: 'vrj-bob',
      media: 'video',
      reason: 'rejected',
      answered: null,
    });
  });

  test('busy: a callee in an accepted call makes the caller get call_reject busy', async () => {
    const carol = await connect('vbusy-carol');
    const bob = await connect('vbusy-bob');
    const alice = await connect('vbusy-alice');
    const first = await request(carol, 'vbusy-carol', 'vbusy-bob', [bob]);
    bob.send(vc('call_accept', 'vbusy-carol', 'vbusy-bob'));
    await carol.next(of('call_accept', first));

    alice.send(vc('call_request', 'vbusy-alice', 'vbusy-bob'));
    const busy = await alice.next(
      (f) => f.data?.type === 'call_reject' && f.data.caller_userid === 'vbusy-alice',
    );
    assert.equal(busy.data.reason, 'busy');
    assert.equal(busy.data.callee_userid, 'vbusy-bob');
    const callId = busy.data.call_id as string;
    await expectRecordEvents([alice, bob], callId, 'busy', 'busy', ['vbusy-alice', 'vbusy-bob']);
    await quiet(alice, bob, carol); // bob never rang
    await expectRecordRow(srv, callId, {
      caller: 'vbusy-alice',
      callee: 'vbusy-bob',
      media: 'video',
      reason: 'busy',
      answered: null,
    });

    carol.send(vc('rtc_offer', 'vbusy-carol', 'vbusy-bob', { sdp: 'v=0 first' }));
    assert.equal((await bob.next(of('rtc_offer', first))).data.sdp, 'v=0 first');
    carol.send(vc('call_end', 'vbusy-carol', 'vbusy-bob'));
    await ended(bob, first, 'call_end', 'hangup');
  });

  test('client no_answer from the caller stops every callee device', async () => {
    const alice = await connect('vcna-alice');
    const b1 = await connect('vcna-bob', 'web');
    const b2 = await connect('vcna-bob', 'ios');
    const callId = await request(alice, 'vcna-alice', 'vcna-bob', [b1, b2]);
    alice.send(vc('no_answer', 'vcna-alice', 'vcna-bob'));
    await ended(b1, callId, 'no_answer', 'no_answer');
    await ended(b2, callId, 'no_answer', 'no_answer');
    await expectRecordEvents([alice, b1, b2], callId, 'missed', 'no_answer', [
      'vcna-alice',
      'vcna-bob',
    ]);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vcna-alice',
      callee: 'vcna-bob',
      media: 'video',
      reason: 'no_answer',
      answered: null,
    });
  });

  test('client no_answer from a callee device ends it for the caller and every device', async () => {
    const alice = await connect('vcnb-alice');
    const b1 = await connect('vcnb-bob', 'web');
    const b2 = await connect('vcnb-bob', 'ios');
    const callId = await request(alice, 'vcnb-alice', 'vcnb-bob', [b1, b2]);
    b2.send(vc('no_answer', 'vcnb-alice', 'vcnb-bob'));
    for (const c of [alice, b1, b2]) await ended(c, callId, 'no_answer', 'no_answer');
    await expectRecordEvents([alice, b1, b2], callId, 'missed', 'no_answer', [
      'vcnb-alice',
      'vcnb-bob',
    ]);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vcnb-alice',
      callee: 'vcnb-bob',
      media: 'video',
      reason: 'no_answer',
      answered: null,
    });
  });

  test('cancel: call_end from the caller while ringing', async () => {
    const alice = await connect('vcx-alice');
    const b1 = await connect('vcx-bob', 'web');
    const b2 = await connect('vcx-bob', 'ios');
    const callId = await request(alice, 'vcx-alice', 'vcx-bob', [b1, b2]);
    alice.send(vc('call_end', 'vcx-alice', 'vcx-bob'));
    await ended(b1, callId, 'call_end', 'cancelled');
    await ended(b2, callId, 'call_end', 'cancelled');
    await expectRecordEvents([alice, b1, b2], callId, 'cancelled', 'cancelled', [
      'vcx-alice',
      'vcx-bob',
    ]);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vcx-alice',
      callee: 'vcx-bob',
      media: 'video',
      reason: 'cancelled',
      answered: null,
    });
    // The call is gone: a late accept finds nothing for the pair.
    await refused(b1, vc('call_accept', 'vcx-alice', 'vcx-bob'), 'not_found');
  });

  test('disconnect: the caller drops mid-call; the callee gets call_end disconnected', async () => {
    const a1 = await connect('vdc-alice');
    const a2 = await connect('vdc-alice', 'pc'); // stays online for the record
    const bob = await connect('vdc-bob');
    const callId = await request(a1, 'vdc-alice', 'vdc-bob', [bob]);
    bob.send(vc('call_accept', 'vdc-alice', 'vdc-bob'));
    await a1.next(of('call_accept', callId));
    a1.close();
    await ended(bob, callId, 'call_end', 'disconnected');
    await expectRecordEvents([a2, bob], callId, 'completed', 'disconnected', [
      'vdc-alice',
      'vdc-bob',
    ]);
    await quiet(a2, bob);
    await expectRecordRow(srv, callId, {
      caller: 'vdc-alice',
      callee: 'vdc-bob',
      media: 'video',
      reason: 'disconnected',
      answered: { clientType: 'web' },
    });
  });

  test('disconnect: the answering device drops mid-call; the caller hears', async () => {
    const alice = await connect('vdd-alice');
    const bob = await connect('vdd-bob', 'ios');
    const callId = await request(alice, 'vdd-alice', 'vdd-bob', [bob]);
    bob.send(vc('call_accept', 'vdd-alice', 'vdd-bob'));
    await alice.next(of('call_accept', callId));
    bob.close();
    await ended(alice, callId, 'call_end', 'disconnected');
    await expectRecordEvents([alice], callId, 'completed', 'disconnected', [
      'vdd-alice',
      'vdd-bob',
    ]);
    await quiet(alice);
    await expectRecordRow(srv, callId, {
      caller: 'vdd-alice',
      callee: 'vdd-bob',
      media: 'video',
      reason: 'disconnected',
      answered: { clientType: 'ios' },
    });
  });

  test('offline: a callee with no device ends the call at once (no_answer, offline)', async () => {
    const alice = await connect('voff-alice');
    alice.send(vc('call_request', 'voff-alice', 'voff-bob'));
    const f = await alice.next((x) => x.data?.type === 'no_answer');
    assert.equal(f.data.reason, 'offline');
    assert.equal(f.data.callee_userid, 'voff-bob');
    const callId = f.data.call_id as string;
    await expectRecordEvents([alice], callId, 'missed', 'offline', ['voff-alice', 'voff-bob']);
    await quiet(alice);
    await expectRecordRow(srv, callId, {
      caller: 'voff-alice',
      callee: 'voff-bob',
      media: 'video',
      reason: 'offline',
      answered: null,
    });
  });

  test('keep_calling: callee devices that connect while ringing ring too', async () => {
    const alice = await connect('vkc-alice');
    alice.send(vc('call_request', 'vkc-alice', 'vkc-bob', { keep_calling: true }));
    await quiet(alice); // not ended as offline
    const b1 = await connect('vkc-bob', 'web');
    const callId = (await incoming(b1, 'vkc-alice', 'vkc-bob')).call_id as string;
    const b2 = await connect('vkc-bob', 'ios');
    assert.equal((await incoming(b2, 'vkc-alice', 'vkc-bob')).call_id, callId);
    b2.send(vc('call_accept', 'vkc-alice', 'vkc-bob'));
    assert.equal((await alice.next(of('call_accept', callId))).data.from_client_type, 'ios');
    assert.equal((await b1.next(of('handled_answer', callId))).data.accepted, true);
    b2.send(vc('call_end', 'vkc-alice', 'vkc-bob'));
    await ended(alice, callId, 'call_end', 'hangup');
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup', [
      'vkc-alice',
      'vkc-bob',
    ]);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vkc-alice',
      callee: 'vkc-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'ios' },
    });
  });

  test('glare: crossing call_requests resolve to one accepted call', async () => {
    // findGlare (calls/machine.ts): bob's call_request to alice while alice→bob is still
    // ringing is taken as bob's call_accept of that call. No second call rings alice; alice
    // gets call_accept; bob's requesting device gets call_accept for the existing call (with
    // `glare: true`, alice as caller), and bob's other devices get handled_answer.
    const alice = await connect('vgl-alice');
    const b1 = await connect('vgl-bob', 'web');
    const b2 = await connect('vgl-bob', 'ios');
    const callId = await request(alice, 'vgl-alice', 'vgl-bob', [b1, b2]);

    b1.send(vc('call_request', 'vgl-bob', 'vgl-alice'));
    const acc = await alice.next(of('call_accept', callId));
    assert.equal(acc.data.from_client_type, 'web');
    const told = await b1.next(of('call_accept', callId));
    assert.equal(told.data.caller_userid, 'vgl-alice');
    assert.equal(told.data.callee_userid, 'vgl-bob');
    assert.equal(told.data.glare, true);
    assert.equal((await b2.next(of('handled_answer', callId))).data.accepted, true);
    const live = srv.apps.flatMap((a) => a.engine.states('vgl-alice'));
    assert.equal(live.length, 1, 'exactly one live call');
    await quiet(alice, b1, b2); // alice never got a call_request

    alice.send(vc('rtc_offer', 'vgl-alice', 'vgl-bob', { sdp: 'v=0 glare', sdp_type: 'offer' }));
    assert.equal((await b1.next(of('rtc_offer', callId))).data.sdp, 'v=0 glare');
    b1.send(vc('call_end', 'vgl-alice', 'vgl-bob'));
    await ended(alice, callId, 'call_end', 'hangup');
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup', [
      'vgl-alice',
      'vgl-bob',
    ]);
    await expectRecordRow(srv, callId, {
      caller: 'vgl-alice',
      callee: 'vgl-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });

  test('a non-party and spoofed ids are refused; nothing is forwarded', async () => {
    const [A, B, E] = ['vnp-alice', 'vnp-bob', 'vnp-eve'];
    const alice = await connect(A);
    const b1 = await connect(B, 'web');
    const b2 = await connect(B, 'ios');
    const eve = await connect(E);
    const callId = await request(alice, A, B, [b1, b2]);
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
    await expectRecordEvents([alice, b1, b2], callId, 'completed', 'hangup', [A, B]);
    await quiet(alice, b1, b2, eve);
    await expectRecordRow(srv, callId, {
      caller: A,
      callee: B,
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });

  test('handled_answer from a client reaches only the sender’s other devices', async () => {
    const [A, B] = ['vha-alice', 'vha-bob'];
    const alice = await connect(A);
    const b1 = await connect(B, 'web');
    const b2 = await connect(B, 'pc');
    const callId = await request(alice, A, B, [b1, b2]);
    b1.send(vc('handled_answer', A, B));
    const h = await b2.next(of('handled_answer', callId));
    assert.equal(h.data.caller_userid, A);
    assert.equal(h.data.callee_userid, B);
    await quiet(alice, b1, b2);
    alice.send(vc('call_end', A, B));
    await ended(b1, callId, 'call_end', 'cancelled');
    await ended(b2, callId, 'call_end', 'cancelled');
    await expectRecordEvents([alice, b1, b2], callId, 'cancelled', 'cancelled', [A, B]);
    await expectRecordRow(srv, callId, {
      caller: A,
      callee: B,
      media: 'video',
      reason: 'cancelled',
      answered: null,
    });
  });

  test('signals go only caller device ⇄ answering device; early ICE waits for the offer', async () => {
    const [A, B] = ['vrl-alice', 'vrl-bob'];
    const a1 = await connect(A, 'web');
    const a2 = await connect(A, 'pc');
    const b1 = await connect(B, 'web');
    const b2 = await connect(B, 'ios');
    const callId = await request(a1, A, B, [b1, b2]);
    // Signals before the answer are refused, not relayed.
    await refused(a1, vc('rtc_offer', A, B, { sdp: 'too early' }), 'invalid_state');
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
    await expectRecordEvents([a1, a2, b1, b2], callId, 'completed', 'hangup', [A, B]);
    await quiet(a1, a2, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: A,
      callee: B,
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });
});

describe('video_call calls with a short invite lifetime', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 300, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('no_answer: an unanswered call_request ends for everyone', async () => {
    const alice = await srv.connect('vna-alice', 'video_call');
    const b1 = await srv.connect('vna-bob', 'video_call', 'web');
    const b2 = await srv.connect('vna-bob', 'video_call', 'ios');
    const callId = await request(alice, 'vna-alice', 'vna-bob', [b1, b2]);
    for (const c of [alice, b1, b2]) await ended(c, callId, 'no_answer', 'no_answer');
    const [rec] = await expectRecordEvents([alice, b1, b2], callId, 'missed', 'no_answer', [
      'vna-alice',
      'vna-bob',
    ]);
    assert.ok(rec!.ring_ms >= 250, `rang ${rec!.ring_ms} ms`);
    await quiet(alice, b1, b2);
    await expectRecordRow(srv, callId, {
      caller: 'vna-alice',
      callee: 'vna-bob',
      media: 'video',
      reason: 'no_answer',
      answered: null,
    });
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
    const carol = await srv.connect('vcw-carol', 'video_call');
    const bob = await srv.connect('vcw-bob', 'video_call');
    const alice = await srv.connect('vcw-alice', 'video_call');
    const first = await request(carol, 'vcw-carol', 'vcw-bob', [bob]);
    bob.send(vc('call_accept', 'vcw-carol', 'vcw-bob'));
    await carol.next(of('call_accept', first));

    const callId = await request(alice, 'vcw-alice', 'vcw-bob', [bob]);
    assert.notEqual(callId, first);
    await quiet(alice, bob, carol);
    bob.send(vc('call_reject', 'vcw-alice', 'vcw-bob'));
    await ended(alice, callId, 'call_reject', 'rejected');
    await expectRecordEvents([alice, bob], callId, 'rejected', 'rejected', [
      'vcw-alice',
      'vcw-bob',
    ]);
    await expectRecordRow(srv, callId, {
      caller: 'vcw-alice',
      callee: 'vcw-bob',
      media: 'video',
      reason: 'rejected',
      answered: null,
    });
    // The first call is still up.
    bob.send(vc('rtc_offer', 'vcw-carol', 'vcw-bob', { sdp: 'v=0 first' }));
    assert.equal((await carol.next(of('rtc_offer', first))).data.sdp, 'v=0 first');
    carol.send(vc('call_end', 'vcw-carol', 'vcw-bob'));
    await ended(bob, first, 'call_end', 'hangup');
  });
});
