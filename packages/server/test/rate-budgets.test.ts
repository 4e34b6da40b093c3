import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, TestClient, TestServer } from './harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  startMeetingServer,
  videoRtp,
} from './meeting-kit.ts';

/**
 * The per-user rate budgets at their defaults: legitimate bursts (a join to a meeting of many
 * publishers, an ICE restart on a multi-homed host, a user's devices doing both at once) pass
 * whole, a flood is still refused and closed (4029), and every refusal names its request.
 */

const callOf =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && f.data?.callId === callId;

/** Sends a request and checks its answer is not an error; returns its data. */
async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data);
  assert.ok(r.type !== 'rtc:error' && r.type !== 'error', `${type}: ${JSON.stringify(r)}`);
  return r.data as Frame;
}

/** A call from `caller` to `callee`'s first device, accepted by `answerer`; its id. */
async function acceptedCall(caller: TestClient, callee: string, answerer: TestClient) {
  const r = await caller.request('call:invite', { callee, media: 'video' });
  assert.equal(r.type, 'ok', JSON.stringify(r));
  const callId = r.data.callId as string;
  await answerer.next(callOf('call:incoming', callId));
  assert.equal((await answerer.request('call:accept', { callId })).type, 'ok');
  await caller.next(callOf('call:accepted', callId));
  caller.send({ type: 'call:offer', data: { callId, sdp: 'v=0 offer' } });
  await answerer.next(callOf('call:offer', callId));
  return callId;
}

/** `n` host candidates, as an ICE restart on a host with several interfaces trickles them. */
const candidates = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    candidate: `candidate:${i} 1 udp ${2_000_000 - i} 10.0.${i >> 4}.${i & 15} ${5000 + i} typ host`,
    sdpMid: '0',
  }));

describe('rate budgets by message class (default limits)', () => {
  let srv: TestServer;
  const sockets: TestClient[] = [];
  const ws = async (user: string, path?: string) => {
    const c = await meetingWs(srv, user, path);
    sockets.push(c);
    return c;
  };
  before(async () => {
    srv = await startMeetingServer();
  });
  after(async () => {
    for (const c of sockets) c.close();
    await srv.close();
  });

  /** A meeting with `n` publishers, each sending audio and video; its id and producer ids. */
  async function meetingOf(prefix: string, n: number) {
    const users = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const meetingId = await createMeeting(srv, users[0]!);
    await joinMeeting(srv, meetingId, ...users);
    const producers: string[] = [];
    for (const [i, user] of users.entries()) {
      const c = await ws(user);
      await ok(c, 'rtc:getRouterRtpCapabilities', { meetingId });
      await ok(c, 'rtc:join', { meetingId });
      const send = await ok(c, 'rtc:createTransport', { meetingId, direction: 'send' });
      const tracks = [
        ['audio', audioRtp(1000 + i)],
        ['video', videoRtp()],
      ] as const;
      for (const [kind, rtpParameters] of tracks) {
        const p = await ok(c, 'rtc:produce', {
          meetingId,
          transportId: send.transportId,
          kind,
          rtpParameters,
        });
        producers.push(p.producerId as string);
      }
    }
    return { meetingId, producers };
  }

  /** Joins `c` to the meeting and consumes + resumes every producer at once; the answers. */
  async function joinAndConsumeAll(c: TestClient, meetingId: string, producers: string[]) {
    const caps = await ok(c, 'rtc:getRouterRtpCapabilities', { meetingId });
    await ok(c, 'rtc:join', { meetingId });
    const recv = await ok(c, 'rtc:createTransport', { meetingId, direction: 'recv' });
    const consumed = await Promise.all(
      producers.map((producerId) =>
        c.request('rtc:consume', {
          meetingId,
          transportId: recv.transportId,
          producerId,
          rtpCapabilities: caps.rtpCapabilities,
        }),
      ),
    );
    const resumed = await Promise.all(
      consumed.map((r) =>
        c.request('rtc:resumeConsumer', { meetingId, consumerId: r.data?.consumerId }),
      ),
    );
    return [...consumed, ...resumed];
  }

  test('a joiner consumes and resumes 40 producers of 20 publishers at once: all answered', async () => {
    const { meetingId, producers } = await meetingOf('mp', 20);
    assert.equal(producers.length, 40);
    await joinMeeting(srv, meetingId, 'mp-joiner');
    const answers = await joinAndConsumeAll(await ws('mp-joiner'), meetingId, producers);
    const failed = answers.filter((r) => r.type === 'rtc:error');
    assert.deepEqual(failed, [], 'no request of the join refused');
    assert.equal(answers.length, 80);
  });

  test('an ICE trickle of 100 candidates in one second is relayed whole', async () => {
    const alice = await ws('ice-alice', '/ws');
    const bob = await ws('ice-bob', '/ws');
    const callId = await acceptedCall(alice, 'ice-bob', bob);
    const sent = candidates(100);
    for (const candidate of sent) alice.send({ type: 'call:ice', data: { callId, candidate } });
    const got: unknown[] = [];
    for (let i = 0; i < sent.length; i++) {
      got.push((await bob.next(callOf('call:ice', callId))).data.candidate);
    }
    assert.deepEqual(got, sent);
    assert.deepEqual(
      alice.frames.filter((f) => f.type === 'error'),
      [],
      'no candidate refused',
    );
  });

  test("one user's devices: ICE of a call passes while another device joins a meeting", async () => {
    const { meetingId, producers } = await meetingOf('tri-pub', 12);
    await joinMeeting(srv, meetingId, 'tri');
    const inCall = await ws('tri', '/ws');
    const third = await ws('tri', '/ws');
    const meeting = await ws('tri');
    const peer = await ws('tri-peer', '/ws');
    // The callee answers on one device; the third rings and is told it was answered elsewhere.
    const r = await peer.request('call:invite', { callee: 'tri', media: 'video' });
    const callId = r.data.callId as string;
    await third.next(callOf('call:incoming', callId));
    await inCall.next(callOf('call:incoming', callId));
    assert.equal((await inCall.request('call:accept', { callId })).type, 'ok');
    peer.send({ type: 'call:offer', data: { callId, sdp: 'v=0 offer' } });
    await inCall.next(callOf('call:offer', callId));
    // All at once: 60 candidates from the call's device, the meeting join's 27 requests from
    // another, and a setup request from the third.
    const sent = candidates(60);
    for (const candidate of sent) inCall.send({ type: 'call:ice', data: { callId, candidate } });
    const [answers, setup] = await Promise.all([
      joinAndConsumeAll(meeting, meetingId, producers),
      third.request('call:hangup', { callId: '00000000-0000-4000-8000-000000000000' }),
    ]);
    const got: unknown[] = [];
    for (let i = 0; i < sent.length; i++) {
      got.push((await peer.next(callOf('call:ice', callId))).data.candidate);
    }
    assert.deepEqual(got, sent, 'every candidate relayed');
    assert.deepEqual(
      answers.filter((a) => a.type === 'rtc:error'),
      [],
      'every meeting request answered',
    );
    assert.notEqual(setup.error?.code, 'rate_limited', JSON.stringify(setup));
    assert.deepEqual(
      inCall.frames.filter((f) => f.type === 'error'),
      [],
      'no candidate refused',
    );
  });

  test('a flood of ICE is still refused, each refusal by its requestId, then closed 4029', async () => {
    const c = await ws('flood-ice', '/ws');
    const callId = '00000000-0000-4000-8000-000000000000';
    for (let i = 0; i < 2000; i++) {
      c.send({ type: 'call:ice', data: { callId, candidate: null }, requestId: `f${i}` });
    }
    assert.equal((await c.waitClose(10_000)).code, 4029);
    const limited = c.frames.filter((f) => f.error?.code === 'rate_limited');
    assert.equal(limited.length, srv.app.config.limits.floodStrikes - 1);
    const ids = new Set(limited.map((f) => f.requestId as string));
    assert.equal(ids.size, limited.length, 'each refusal names its own request');
    assert.ok(
      [...ids].every((id) => /^f\d+$/.test(id)),
      [...ids].join(),
    );
  });

  test('a flood of meeting requests: refused by requestId on /ws/meeting, then closed 4029', async () => {
    const meetingId = await createMeeting(srv, 'flood-rtc');
    await joinMeeting(srv, meetingId, 'flood-rtc');
    const c = await ws('flood-rtc');
    // The ~500 requests within the burst are answered before the refusals (answers keep request
    // order), and the server gives those owed answers 5 s before the flood close. So they are
    // requests a peer gets answered from memory, briefly: as a non-peer, each looked the meeting
    // up in the store, which on a loaded machine outlasted the 5 s (no refusal was sent); and
    // 500 router capabilities (~5 KB each) overflow the socket's write backlog (closed 4013).
    await ok(c, 'rtc:join', { meetingId });
    const unknown = { meetingId, producerId: 'no-such-producer' };
    for (let i = 0; i < 2000; i++) {
      c.send({ type: 'rtc:pauseProducer', data: unknown, requestId: `m${i}` });
    }
    assert.equal((await c.waitClose(10_000)).code, 4029);
    const limited = c.frames.filter((f) => f.type === 'rtc:error' && f.code === 42901);
    assert.equal(limited.length, srv.app.config.limits.floodStrikes - 1);
    const ids = new Set(limited.map((f) => f.requestId as string));
    assert.equal(ids.size, limited.length, 'each refusal names its own request');
    assert.ok(
      [...ids].every((id) => /^m\d+$/.test(id)),
      [...ids].join(),
    );
  });

  test('a frame refused unread (too large) is answered by its requestId on /ws and /ws/meeting', async () => {
    const big = 'x'.repeat(srv.app.config.limits.maxFrameBytes + 1);
    const native = await ws('big-native', '/ws');
    native.send({ type: 'call:offer', requestId: 'big-1', data: { callId: 'c', sdp: big } });
    const e1 = await native.next((f) => f.type === 'error');
    assert.deepEqual([e1.requestId, e1.error.code], ['big-1', 'frame_too_large']);
    const meetingId = await createMeeting(srv, 'big-rtc');
    const rtc = await ws('big-rtc');
    rtc.send({ type: 'rtc:produce', requestId: 'big-2', data: { meetingId, appData: big } });
    const e2 = await rtc.next((f) => f.type === 'rtc:error');
    assert.deepEqual([e2.requestId, e2.request], ['big-2', 'rtc:produce']);
    assert.equal(native.closed ?? rtc.closed, null, 'both connections stay');
  });
});
