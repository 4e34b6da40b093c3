import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndReason } from '@parley/protocol';
import { callScenarios, callServer, type CallDriver, type Parties } from './call-scenarios.ts';
import { callStarter, recordCheck, quiet, type Frame, type TestClient } from './harness.ts';

/**
 * 1:1 calls over the video_call dialect (`/ws/video-call`, specs/video-call-json.md), end to
 * end over real sockets: the scenarios every dialect passes (call-scenarios.ts) through the
 * video_call driver, and what only this dialect has. video_call names a call by its two
 * parties; Parley adds `call_id`, `reason`, `media` and friends to what it sends.
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
async function incoming(c: TestClient, p: Parties): Promise<Frame> {
  const f = await c.next(
    (x) =>
      x.type === 'video_call' &&
      x.data?.type === 'call_request' &&
      x.data.caller_userid === p.caller &&
      x.data.callee_userid === p.callee,
  );
  assert.equal(typeof f.data.call_id, 'string');
  if (p.callId) assert.equal(f.data.call_id, p.callId, 'every device rings for the same call');
  assert.equal(f.data.caller_name, p.caller.toUpperCase());
  assert.equal(f.data.media, p.media);
  return f.data as Frame;
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

/** Sends a frame video_call does not acknowledge. */
const sent = (c: TestClient, frame: Frame) => Promise.resolve(c.send(frame));

/** The frame type that ends a call for each reason. */
const endType: Partial<Record<EndReason, string>> = {
  hangup: 'call_end',
  cancelled: 'call_end',
  disconnected: 'call_end',
  rejected: 'call_reject',
  busy: 'call_reject',
  no_answer: 'no_answer',
  offline: 'no_answer',
};

const signalType = { offer: 'rtc_offer', answer: 'rtc_answer', ice: 'rtc_ice_candidate' };

/** A call_request from `caller` (media only when not the default, as many clients send it). */
const request = (p: Parties, extra: Record<string, unknown> = {}) =>
  vc('call_request', p.caller, p.callee, {
    ...(p.media === 'video' ? {} : { media: p.media }),
    ...extra,
  });

/** Starts a call (see callStarter); every callee device rings for the same call. */
const ring = callStarter('video_call', async (from, to, parties) => {
  from.send(request(parties));
  const [first, ...rest] = to;
  const callId = (await incoming(first!, parties)).call_id as string;
  for (const c of rest) await incoming(c, { ...parties, callId });
  return callId;
});

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

const videoCall: CallDriver = {
  title: 'video_call calls',
  dialect: 'video_call',
  prefix: 'v',
  ring,
  invite(caller, p, keepCalling) {
    caller.send(request(p, keepCalling ? { keep_calling: true } : {}));
    return Promise.resolve(undefined);
  },
  // video_call has no ringing notice: the scenarios check that the caller hears nothing.
  ringing: () => Promise.resolve(),
  incoming: async (c, p) => (await incoming(c, p)).call_id as string,
  accept: (c, p) => sent(c, vc('call_accept', p.caller, p.callee)),
  reject: (c, p) => sent(c, vc('call_reject', p.caller, p.callee)),
  hangup: (c, p) => sent(c, vc('call_end', p.caller, p.callee)),
  noAnswer: (c, p) => sent(c, vc('no_answer', p.caller, p.callee)),
  async inviteBack(c, p) {
    c.send(vc('call_request', p.callee, p.caller));
    const told = await c.next(of('call_accept', p.callId));
    assert.equal(told.data.caller_userid, p.caller);
    assert.equal(told.data.callee_userid, p.callee);
    assert.equal(told.data.glare, true);
  },
  async refused(c, action, p, code) {
    const frames = {
      accept: vc('call_accept', p.caller, p.callee),
      reject: vc('call_reject', p.caller, p.callee),
      answer: vc('rtc_answer', p.caller, p.callee, { sdp: 'too early' }),
    };
    await refused(c, frames[action], code);
  },
  async accepted(c, p) {
    const acc = await c.next(of('call_accept', p.callId));
    assert.equal(acc.data.caller_userid, p.caller);
    assert.equal(acc.data.callee_userid, p.callee);
    return { clientType: acc.data.from_client_type };
  },
  async elsewhere(c, p) {
    const f = await c.next(of('handled_answer', p.callId));
    return {
      accepted: f.data.accepted,
      fromClientType: f.data.from_client_type,
      timetag: f.data.timetag,
    };
  },
  async ended(c, p, reason) {
    const type = endType[reason];
    assert.ok(type, `no scenario ends a video_call call for ${reason}`);
    const f = await c.next(
      p.callId
        ? of(type, p.callId)
        : (x) =>
            x.type === 'video_call' &&
            x.data?.type === type &&
            x.data.caller_userid === p.caller &&
            x.data.callee_userid === p.callee,
    );
    assert.equal(f.data.reason, reason, JSON.stringify(f));
    return f.data.call_id as string;
  },
  offer: (c, p, sdp) => c.send(vc('rtc_offer', p.caller, p.callee, { sdp, sdp_type: 'offer' })),
  answer: (c, p, sdp) => c.send(vc('rtc_answer', p.caller, p.callee, { sdp, sdp_type: 'answer' })),
  ice: (c, p, candidate) => c.send(vc('rtc_ice_candidate', p.caller, p.callee, { candidate })),
  async signal(c, kind, _from, p, next) {
    const type = signalType[kind];
    const f = await (next ? c.next() : c.next(of(type, p.callId)));
    assert.equal(f.type, 'video_call');
    const parties = { caller_userid: p.caller, callee_userid: p.callee, call_id: p.callId };
    if (kind === 'ice') {
      assert.deepEqual(f.data, { type, ...parties, candidate: f.data.candidate });
    } else {
      // Exactly the spec's frame, with Parley's call_id.
      assert.deepEqual(f.data, { type, ...parties, sdp: f.data.sdp, sdp_type: kind });
    }
    return f.data;
  },
  async recorded(call, told, status, reason, answered) {
    const records = await expectRecorded(call, told, status, reason, answered);
    return records.map((r) => ({
      media: r.media,
      startedAt: r.started_at,
      duration: r.duration,
      ringMs: r.ring_ms,
    }));
  },
};

callScenarios(videoCall);

describe('video_call calls: what only the video_call dialect has', () => {
  const s = callServer({}, { rateBurst: 1000 });
  const connect = (user: string, clientType = 'web') =>
    s.srv.connect(user, 'video_call', clientType);

  test('client no_answer from a callee device: the caller and the other device hear it, the sender gets no echo', async () => {
    const [A, B] = ['vcnb-alice', 'vcnb-bob'];
    const { call, callId, devices } = await ring(s.srv, A, B);
    const [alice, b1, b2] = devices;
    b2.send(vc('no_answer', A, B));
    for (const c of [alice, b1]) await ended(c, callId, 'no_answer', 'no_answer');
    await expectRecorded(call, [alice, b1, b2], 'missed', 'no_answer', null);
    // b2 got its call_record and nothing else: no no_answer of its own back.
    await quiet(alice, b1, b2);
  });

  test('a non-party and spoofed ids are refused; nothing is forwarded', async () => {
    const [A, B, E] = ['vnp-alice', 'vnp-bob', 'vnp-eve'];
    const { call, callId, devices } = await ring(s.srv, A, B);
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
    const { call, callId, devices } = await ring(s.srv, A, B, { to: ['web', 'pc'] });
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
});
