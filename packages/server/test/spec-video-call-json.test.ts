import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { quiet, startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * specs/video-call-json.md, played as written: every frame below is copied verbatim from the
 * spec (its JS comments stripped, the only change). A default server (no grants, default
 * limits); the other client must receive the spec's forwarded frame field for field, plus
 * exactly the fields Parley adds (`call_id` and friends, docs/protocol.md).
 */

// 1. 发起呼叫 — 客户端 → 服务端 / 服务端响应（转发给被叫）
const CALL_REQUEST = String.raw`{
  "type": "video_call",
  "data": {
    "type": "call_request",
    "caller_userid": "username1",
    "callee_userid": "username2"
  }
}`;
const CALL_REQUEST_FORWARDED = CALL_REQUEST;

// 2. 接听/拒绝/无人接听 — the same frame both ways
const CALL_ACCEPT = String.raw`{
  "type": "video_call",
  "data": {
    "type": "call_accept", // 或 call_reject, no_answer
    "caller_userid": "username1",
    "callee_userid": "username2"
  }
}`;

// 3. 通话结束 — the same frame both ways
const CALL_END = String.raw`{
  "type": "video_call",
  "data": {
    "type": "call_end",
    "caller_userid": "username1",
    "callee_userid": "username2"
  }
}`;

// 4.1 发送 Offer — 服务端响应（转发给对方）同上
const RTC_OFFER = String.raw`{
  "type": "video_call",
  "data": {
    "type": "rtc_offer",
    "caller_userid": "username1",
    "callee_userid": "username2",
    "sdp": "...",
    "sdp_type": "offer"
  }
}`;

// 4.2 发送 Answer — 同上
const RTC_ANSWER = String.raw`{
  "type": "video_call",
  "data": {
    "type": "rtc_answer",
    "caller_userid": "username1",
    "callee_userid": "username2",
    "sdp": "...",
    "sdp_type": "answer"
  }
}`;

// 4.3 发送 ICE Candidate — 同上
const RTC_ICE_CANDIDATE = String.raw`{
  "type": "video_call",
  "data": {
    "type": "rtc_ice_candidate",
    "caller_userid": "username1",
    "callee_userid": "username2",
    "candidate": {
      "candidate": "...",
      "sdpMid": "...",
      "sdpMLineIndex": 0
    }
  }
}`;

// 4.4 发送 Handled Answer
const HANDLED_ANSWER = String.raw`{
  "type": "video_call",
  "data": {
    "type": "handled_answer",
    "caller_userid": "username1",
    "callee_userid": "username2"
  }
}`;

/** A spec frame as JSON text (its `//` comments dropped; no string in them holds `//`). */
const text = (frame: string): string => frame.replace(/\s*\/\/[^\n]*/g, '');
/** The spec's own frame, parsed. */
const spec = (frame: string): Frame => JSON.parse(text(frame)) as Frame;
/** The spec's 2. frame with `type` as its comment allows (call_reject, no_answer). */
const answerFrame = (type: string): string => CALL_ACCEPT.replace('"call_accept"', `"${type}"`);

/** What the other side must get: the spec's forwarded frame plus Parley's added fields. */
const forwarded = (frame: string, added: Frame): Frame => {
  const f = spec(frame);
  return { type: f.type, data: { ...f.data, ...added } };
};

const A = 'username1';
const B = 'username2';

const next = (c: TestClient, type: string): Promise<Frame> =>
  c.next((f) => f.type === 'video_call' && f.data?.type === type);

describe('specs/video-call-json.md, verbatim, on a default server', () => {
  let srv: TestServer;
  let clients: TestClient[] = [];
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  /** The caller's device, then two of the callee's (one answers, one hears handled_answer). */
  async function devices(): Promise<[TestClient, TestClient, TestClient]> {
    const u1 = await srv.connect(A, 'video_call', 'web');
    const u2 = await srv.connect(B, 'video_call', 'web');
    const u2b = await srv.connect(B, 'video_call', 'ios');
    clients = [u1, u2, u2b];
    return [u1, u2, u2b];
  }

  /** Both parties' devices got the call's record; then nothing else is pending. */
  async function finished(callId: string): Promise<void> {
    for (const c of clients) {
      assert.equal((await next(c, 'call_record')).data.call_id, callId);
    }
    await quiet(...clients);
    for (const c of clients) c.close();
  }

  test('call_request → call_accept → rtc_offer / rtc_answer / rtc_ice_candidate → handled_answer → call_end', async () => {
    const [u1, u2, u2b] = await devices();

    u1.send(text(CALL_REQUEST));
    const rings = await Promise.all([next(u2, 'call_request'), next(u2b, 'call_request')]);
    const callId = rings[0].data.call_id as string;
    assert.ok(callId);
    const request = forwarded(CALL_REQUEST_FORWARDED, {
      call_id: callId,
      media: 'video',
      caller_name: 'USERNAME1',
    });
    for (const r of rings) assert.deepEqual(r, request);

    u2.send(text(CALL_ACCEPT));
    assert.deepEqual(
      await next(u1, 'call_accept'),
      forwarded(CALL_ACCEPT, { call_id: callId, from_client_type: 'web' }),
    );
    const elsewhere = await next(u2b, 'handled_answer');
    assert.deepEqual(elsewhere.data, {
      ...spec(HANDLED_ANSWER).data,
      call_id: callId,
      accepted: true,
      from_client_type: 'web',
      timetag: elsewhere.data.timetag,
    });
    assert.equal(typeof elsewhere.data.timetag, 'number');

    u1.send(text(RTC_OFFER));
    assert.deepEqual(await next(u2, 'rtc_offer'), forwarded(RTC_OFFER, { call_id: callId }));
    u2.send(text(RTC_ANSWER));
    assert.deepEqual(await next(u1, 'rtc_answer'), forwarded(RTC_ANSWER, { call_id: callId }));
    u1.send(text(RTC_ICE_CANDIDATE));
    assert.deepEqual(
      await next(u2, 'rtc_ice_candidate'),
      forwarded(RTC_ICE_CANDIDATE, { call_id: callId }),
    );

    // handled_answer goes to the sender's other devices.
    u2.send(text(HANDLED_ANSWER));
    assert.deepEqual(
      await next(u2b, 'handled_answer'),
      forwarded(HANDLED_ANSWER, { call_id: callId }),
    );

    u1.send(text(CALL_END));
    assert.deepEqual(
      await next(u2, 'call_end'),
      forwarded(CALL_END, { call_id: callId, reason: 'hangup' }),
    );
    await finished(callId);
  });

  test('call_reject (the 2. frame with the type its comment names) reaches the caller', async () => {
    const [u1, u2, u2b] = await devices();
    u1.send(text(CALL_REQUEST));
    const callId = (await next(u2, 'call_request')).data.call_id as string;
    await next(u2b, 'call_request');

    u2.send(text(answerFrame('call_reject')));
    assert.deepEqual(
      await next(u1, 'call_reject'),
      forwarded(answerFrame('call_reject'), { call_id: callId, reason: 'rejected' }),
    );
    const stop = await next(u2b, 'handled_answer');
    assert.equal(stop.data.accepted, false);
    await finished(callId);
  });

  test('no_answer from a callee device reaches the caller and the other device, not itself', async () => {
    const [u1, u2, u2b] = await devices();
    u1.send(text(CALL_REQUEST));
    const callId = (await next(u2, 'call_request')).data.call_id as string;
    await next(u2b, 'call_request');

    u2.send(text(answerFrame('no_answer')));
    const told = forwarded(answerFrame('no_answer'), { call_id: callId, reason: 'no_answer' });
    assert.deepEqual(await next(u1, 'no_answer'), told);
    assert.deepEqual(await next(u2b, 'no_answer'), told);
    // `finished` checks that u2 got its record and nothing else (no no_answer of its own).
    await finished(callId);
  });
});
