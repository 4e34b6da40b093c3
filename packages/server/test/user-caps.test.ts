import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChatMessage, encodeChatMessage } from '../src/gateway/dialects/chat-protobuf.ts';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';
import {
  SioClient,
  createMeeting,
  joinMeeting,
  meetingWs,
  rest,
  startMeetingServer,
} from './meeting-kit.ts';

/**
 * Per-user caps (config `caps`, README): ringing calls, live meetings, media peers and
 * transports. Each refusal is `limit_exceeded` in the sender's dialect, naming the cap, and the
 * user can go on once below it. Before, one user could hold any number of each, and asking for
 * a meeting's router capabilities opened a router per meeting.
 */

describe('calls: outgoing calls ringing at once', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ caps: { ringingCallsPerUser: 2 }, limits: { rateBurst: 1000 } });
  });
  after(() => srv.close());

  test('native: the third ringing invite is limit_exceeded; hanging one up frees a place', async () => {
    const amy = await srv.connect('amy');
    for (const u of ['b1', 'b2', 'b3']) await srv.connect(u);
    const first = await amy.request('call:invite', { callee: 'b1', media: 'audio' });
    assert.equal(first.type, 'ok', JSON.stringify(first));
    assert.equal((await amy.request('call:invite', { callee: 'b2', media: 'audio' })).type, 'ok');
    const third = await amy.request('call:invite', { callee: 'b3', media: 'audio' });
    assert.deepEqual(third.error, {
      code: 'limit_exceeded',
      message: 'at most 2 outgoing calls may ring at once',
      details: { limit: 'ringingCallsPerUser', max: 2 },
    });
    const callId = (first.data as Frame).callId as string;
    assert.equal((await amy.request('call:hangup', { callId })).type, 'ok');
    assert.equal((await amy.request('call:invite', { callee: 'b3', media: 'audio' })).type, 'ok');
  });

  test('video_call and chat-protobuf show limit_exceeded too', async () => {
    const vc = await srv.connect('vic', 'video_call');
    for (const u of ['c1', 'c2', 'c3', 'd1', 'd2', 'd3']) await srv.connect(u);
    for (const callee of ['c1', 'c2', 'c3']) {
      vc.send({
        type: 'video_call',
        data: { type: 'call_request', caller_userid: 'vic', callee_userid: callee },
      });
    }
    const refused = await vc.nextVc('error');
    assert.deepEqual(
      [refused.data.code, refused.data.request_type],
      ['limit_exceeded', 'call_request'],
    );

    const chat = await srv.connect('cat', 'chat');
    for (const to of ['d1', 'd2', 'd3']) {
      chat.send(
        encodeChatMessage({
          from: 'cat',
          to,
          contentType: 6,
          messageType: 1,
          content: JSON.stringify({ type: 'call-invite' }),
        }),
      );
    }
    const error = await chat.next((f) => {
      const m = Buffer.isBuffer(f.binary) ? decodeChatMessage(f.binary) : null;
      return m?.type === 'error';
    });
    const content = JSON.parse(decodeChatMessage(error.binary as Buffer).content) as Frame;
    assert.equal(content.code, 'limit_exceeded', JSON.stringify(content));
  });
});

describe('meetings: live meetings per host', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ caps: { liveMeetingsPerUser: 3 } });
  });
  after(() => srv.close());

  test('REST: beyond the cap 429 / 42902, even in a burst; ending one frees a place', async () => {
    const burst = await Promise.all(
      Array.from({ length: 8 }, () => rest(srv, 'host', 'POST', '/api/meetings', { title: 't' })),
    );
    const created = burst.filter((r) => r.status === 200);
    assert.equal(created.length, 3, JSON.stringify(burst.map((r) => r.status)));
    for (const r of burst.filter((x) => x.status !== 200)) {
      assert.deepEqual([r.status, r.body.code, r.body.error], [429, 42902, 'limit_exceeded']);
    }
    const id = created[0]!.body.data.meetingId as string;
    assert.equal((await rest(srv, 'host', 'POST', `/api/meetings/${id}/end`)).status, 200);
    assert.equal((await rest(srv, 'host', 'POST', '/api/meetings')).status, 200);
    assert.equal((await rest(srv, 'other', 'POST', '/api/meetings')).status, 200, 'per user');
  });
});

describe('meeting media on the SFU: routers, peers, transports', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startMeetingServer({
      caps: { peersPerUserPerMeeting: 2, peersPerUser: 3, transportsPerPeer: 2 },
      limits: { rateBurst: 1000 },
    });
  });
  after(() => srv.close());

  const routers = () => srv.app.sfu.workers().reduce((n, w) => n + w.routers, 0);

  test('asking for router capabilities opens no router; joining opens one', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createMeeting(srv, 'ray'));
    await joinMeeting(srv, ids[0]!, 'ray');
    await joinMeeting(srv, ids[1]!, 'ray');
    await joinMeeting(srv, ids[2]!, 'ray');
    const c = await meetingWs(srv, 'ray');
    for (const id of ids) {
      const caps = await c.request('rtc:getRouterRtpCapabilities', { meetingId: id });
      assert.ok(((caps.data as Frame).rtpCapabilities as Frame).codecs.length > 0);
    }
    assert.equal(srv.app.rtc.size, 0, 'no media room');
    assert.equal(routers(), 0, 'no router left open');
    const joined = await c.request('rtc:join', { meetingId: ids[0] });
    assert.equal(joined.type, 'rtc:joined', JSON.stringify(joined));
    // The capabilities given before joining are those of the router the peer got.
    const after = await c.request('rtc:getRouterRtpCapabilities', { meetingId: ids[0] });
    assert.deepEqual(after.data, {
      rtpCapabilities: srv.app.rtc.router(ids[0]!)!.rtpCapabilities,
    });
    assert.equal(routers(), 1);
    c.close();
  });

  test('peers: per user in a meeting, then per user in all meetings (42902)', async () => {
    const a = await createMeeting(srv, 'sue');
    const b = await createMeeting(srv, 'sue');
    await joinMeeting(srv, a, 'sue');
    await joinMeeting(srv, b, 'sue');
    const conns = await Promise.all([1, 2, 3, 4, 5].map(() => meetingWs(srv, 'sue')));
    const [c1, c2, c3, c4, c5] = conns as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
    assert.equal((await c1.request('rtc:join', { meetingId: a })).type, 'rtc:joined');
    assert.equal((await c2.request('rtc:join', { meetingId: a })).type, 'rtc:joined');
    const perMeeting = await c3.request('rtc:join', { meetingId: a });
    assert.deepEqual([perMeeting.type, perMeeting.code], ['rtc:error', 42902]);
    assert.match(perMeeting.error as string, /at most 2 connections of one user/);
    assert.equal((await c3.request('rtc:join', { meetingId: b })).type, 'rtc:joined');
    const total = await c4.request('rtc:join', { meetingId: b });
    assert.deepEqual([total.type, total.code], ['rtc:error', 42902]);
    assert.match(total.error as string, /at most 3 connections of one user/);
    // Leaving frees a place.
    assert.equal((await c1.request('rtc:leave', { meetingId: a })).type, 'rtc:left');
    assert.equal((await c5.request('rtc:join', { meetingId: b })).type, 'rtc:joined');
    for (const c of conns) c.close();
  });

  test('join and leave cannot pile up routers: empty rooms a user opened count as theirs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await createMeeting(srv, 'val'));
      await joinMeeting(srv, ids[i]!, 'val');
    }
    const c = await meetingWs(srv, 'val');
    for (const id of ids.slice(0, 3)) {
      assert.equal((await c.request('rtc:join', { meetingId: id })).type, 'rtc:joined');
      assert.equal((await c.request('rtc:leave', { meetingId: id })).type, 'rtc:left');
    }
    // Three empty rooms in their grace period hold routers for val: a fourth is refused, and
    // opens none.
    const refused = await c.request('rtc:join', { meetingId: ids[3] });
    assert.deepEqual([refused.type, refused.code], ['rtc:error', 42902], JSON.stringify(refused));
    assert.equal(srv.app.rtc.has(ids[3]!), false, 'no room opened for the refused join');
    // Rejoining a room that is already open is fine.
    assert.equal((await c.request('rtc:join', { meetingId: ids[0] })).type, 'rtc:joined');
    c.close();
  });

  test('transports per peer, over socket.io too (42902)', async () => {
    const id = await createMeeting(srv, 'tia');
    await joinMeeting(srv, id, 'tia');
    const sio = await SioClient.open(srv, 'tia');
    try {
      assert.equal((await sio.request('rtc:join', { meetingId: id })).type, 'rtc:joined');
      for (const direction of ['send', 'recv']) {
        const t = await sio.request('rtc:createTransport', { meetingId: id, direction });
        assert.equal(t.type, 'rtc:transportCreated', JSON.stringify(t));
      }
      const third = await sio.request('rtc:createTransport', { meetingId: id, direction: 'send' });
      assert.deepEqual(
        { ...third, error: typeof third.error },
        { type: 'rtc:error', request: 'rtc:createTransport', error: 'string', code: 42902 },
      );
    } finally {
      sio.close();
    }
  });
});
