import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { quiet, startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * specs/room-webrtc-cmd.md, played as written: every frame below is copied verbatim from the
 * spec. A default server (no grants, default limits): being in the same room is the permission,
 * the receiver gets the spec's forwarded frame exactly, and the spec's error cases come back in
 * its error shape with its messages.
 */

// 1. WEBRTC_OFFER — 客户端发送格式 / 后端转发给接收方的消息格式
const OFFER = String.raw`{
  "requestId": "webrtc_1234567890_abcdef123",
  "module": "ROOM",
  "cmd": "WEBRTC_OFFER",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_123",
    "to": "user_456",
    "data": {
      "type": "offer",
      "sdp": "v=0\r\no=- 123456789 2 IN IP4 127.0.0.1\r\n..."
    }
  }
}`;
const OFFER_FORWARDED = String.raw`{
  "requestId": "webrtc_1234567890_abcdef123",
  "module": "ROOM",
  "cmd": "WEBRTC_OFFER",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_123",
    "to": "user_456",
    "data": {
      "type": "offer",
      "sdp": "v=0\r\no=- 123456789 2 IN IP4 127.0.0.1\r\n..."
    }
  }
}`;

// 2. WEBRTC_ANSWER
const ANSWER = String.raw`{
  "requestId": "webrtc_1234567891_bcdef456",
  "module": "ROOM",
  "cmd": "WEBRTC_ANSWER",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_456",
    "to": "user_123",
    "data": {
      "type": "answer",
      "sdp": "v=0\r\no=- 987654321 2 IN IP4 127.0.0.1\r\n..."
    }
  }
}`;
const ANSWER_FORWARDED = String.raw`{
  "requestId": "webrtc_1234567891_bcdef456",
  "module": "ROOM",
  "cmd": "WEBRTC_ANSWER",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_456",
    "to": "user_123",
    "data": {
      "type": "answer",
      "sdp": "v=0\r\no=- 987654321 2 IN IP4 127.0.0.1\r\n..."
    }
  }
}`;

// 3. WEBRTC_ICE_CANDIDATE
const ICE = String.raw`{
  "requestId": "webrtc_1234567892_cdef789",
  "module": "ROOM",
  "cmd": "WEBRTC_ICE_CANDIDATE",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_123",
    "to": "user_456",
    "data": {
      "candidate": "candidate:1 1 UDP 2130706431 192.168.1.100 54400 typ host",
      "sdpMLineIndex": 0,
      "sdpMid": "0"
    }
  }
}`;
const ICE_FORWARDED = String.raw`{
  "requestId": "webrtc_1234567892_cdef789",
  "module": "ROOM",
  "cmd": "WEBRTC_ICE_CANDIDATE",
  "code": 200,
  "msg": "success",
  "data": {
    "from": "user_123",
    "to": "user_456",
    "data": {
      "candidate": "candidate:1 1 UDP 2130706431 192.168.1.100 54400 typ host",
      "sdpMLineIndex": 0,
      "sdpMid": "0"
    }
  }
}`;

// 错误处理 — 常见错误情况
const NOT_SAME_ROOM = '用户不在同一房间内';
const TARGET_OFFLINE = '目标用户不在线';
const NO_CONNECTION = '没有对应的连接请求';

const A = 'user_123';
const B = 'user_456';

/**
 * The spec's error frame for a request: `{module, cmd, code, msg, data: null}`, with the
 * request's requestId echoed (docs/protocol.md).
 */
function specError(request: string, code: number, msg: string): Frame {
  const r = JSON.parse(request) as Frame;
  return { requestId: r.requestId, module: 'ROOM', cmd: r.cmd, code, msg, data: null };
}

describe('specs/room-webrtc-cmd.md, verbatim, on a default server', () => {
  let srv: TestServer;
  let open: TestClient[] = [];
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  /** A ROOM client of `userId` with no grants at all. */
  async function client(userId: string): Promise<TestClient> {
    const c = await srv.connect(userId, 'room', 'web', { grants: [] });
    open.push(c);
    return c;
  }

  async function join(c: TestClient, roomId: string): Promise<void> {
    const requestId = `join_${roomId}_${open.indexOf(c)}`;
    c.send({
      requestId,
      module: 'ROOM',
      cmd: 'JOIN_ROOM',
      code: 200,
      msg: 'success',
      data: { roomId },
    });
    assert.equal((await c.next((f) => f.requestId === requestId)).code, 200);
  }

  /** Each test leaves nothing behind: its clients go (and with them their rooms and pairs). */
  async function done(): Promise<void> {
    await quiet(...open);
    for (const c of open) c.close();
    await Promise.all(open.map((c) => c.waitClose()));
    open = [];
  }

  test(`target offline → 1000 ${TARGET_OFFLINE}`, async () => {
    const a = await client(A);
    a.send(OFFER);
    assert.deepEqual(await a.next(), specError(OFFER, 1000, TARGET_OFFLINE));
    await done();
  });

  test(`not in the same room → 1000 ${NOT_SAME_ROOM}`, async () => {
    const a = await client(A);
    const b = await client(B);
    await join(a, 'room_a');
    await join(b, 'room_b');
    a.send(OFFER);
    assert.deepEqual(await a.next(), specError(OFFER, 1000, NOT_SAME_ROOM));
    await done();
  });

  test(`answer or ICE without an offer → 1000 ${NO_CONNECTION}`, async () => {
    const a = await client(A);
    const b = await client(B);
    await join(a, 'room_1');
    await join(b, 'room_1');
    await a.next((f) => f.cmd === 'MEMBER_JOINED');
    b.send(ANSWER);
    assert.deepEqual(await b.next(), specError(ANSWER, 1000, NO_CONNECTION));
    a.send(ICE);
    assert.deepEqual(await a.next(), specError(ICE, 1000, NO_CONNECTION));
    await done();
  });

  test('offer → answer → ICE between members without any grant: forwarded exactly as the spec shows', async () => {
    const a = await client(A);
    const b = await client(B);
    await join(a, 'room_1');
    await join(b, 'room_1');
    await a.next((f) => f.cmd === 'MEMBER_JOINED');

    a.send(OFFER);
    assert.deepEqual(await b.next(), JSON.parse(OFFER_FORWARDED));
    b.send(ANSWER);
    assert.deepEqual(await a.next(), JSON.parse(ANSWER_FORWARDED));
    a.send(ICE);
    assert.deepEqual(await b.next(), JSON.parse(ICE_FORWARDED));
    // No acknowledgement comes back to a sender: `done` finds nothing pending.
    await done();
  });
});
