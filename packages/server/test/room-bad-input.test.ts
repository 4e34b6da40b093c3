import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * Malformed and refused ROOM frames, one table row each: the error frame is
 * `{requestId?, module:"ROOM", cmd, code, msg, data:null}` with the requestId echoed whenever
 * the frame had a readable one, and the connection keeps working after every row.
 */

const MAX_FRAME = 2048;

interface Row {
  name: string;
  /** An object is sent as JSON text, a string as text, a Buffer as a binary frame. */
  frame: unknown;
  code: number;
  /** Exact for 1000s; a substring for 400s. */
  msg: string;
  /** The requestId the error must echo, or undefined: the error has no requestId. */
  requestId?: string;
  /** The `cmd` the error names (null when the frame's cmd could not be read). */
  cmd: string | null;
}

const env = (requestId: string, cmd: string, data: unknown, extra: object = {}) => ({
  requestId,
  module: 'ROOM',
  cmd,
  code: 200,
  msg: 'success',
  data,
  ...extra,
});

const offer = { type: 'offer', sdp: 'v=0\r\n' };

const ROWS: Row[] = [
  {
    name: 'not JSON',
    frame: '{"requestId": "r1", nope',
    code: 400,
    msg: '不是合法的JSON',
    requestId: 'r1',
    cmd: null,
  },
  {
    name: 'truncated JSON: requestId and cmd read as far as they go',
    frame: JSON.stringify(
      env('r1b', 'WEBRTC_OFFER', { from: 'eve', to: 'pat', data: offer }),
    ).slice(0, 90),
    code: 400,
    msg: '不是合法的JSON',
    requestId: 'r1b',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'binary frame',
    frame: Buffer.from(JSON.stringify(env('r2', 'JOIN_ROOM', { roomId: 'x' }))),
    code: 400,
    msg: '二进制',
    requestId: 'r2',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'array',
    frame: [env('r3', 'JOIN_ROOM', { roomId: 'x' })],
    code: 400,
    msg: 'JSON对象',
    cmd: null,
  },
  { name: 'JSON string', frame: '"JOIN_ROOM"', code: 400, msg: 'JSON对象', cmd: null },
  { name: 'JSON null', frame: 'null', code: 400, msg: 'JSON对象', cmd: null },
  {
    name: 'missing requestId',
    frame: { module: 'ROOM', cmd: 'JOIN_ROOM', code: 200, msg: 'success', data: { roomId: 'x' } },
    code: 400,
    msg: 'requestId',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'requestId not a string',
    frame: env('r5', 'JOIN_ROOM', { roomId: 'x' }, { requestId: 12345 }),
    code: 400,
    msg: 'requestId',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'empty requestId',
    frame: env('', 'JOIN_ROOM', { roomId: 'x' }),
    code: 400,
    msg: 'requestId',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'wrong module',
    frame: env('r6', 'WEBRTC_OFFER', { from: 'eve', to: 'pat', data: offer }, { module: 'CHAT' }),
    code: 400,
    msg: 'module必须为"ROOM"',
    requestId: 'r6',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'missing module',
    frame: { requestId: 'r7', cmd: 'JOIN_ROOM', data: { roomId: 'x' } },
    code: 400,
    msg: 'module',
    requestId: 'r7',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'missing cmd',
    frame: { requestId: 'r8', module: 'ROOM', data: { roomId: 'x' } },
    code: 400,
    msg: 'cmd',
    requestId: 'r8',
    cmd: null,
  },
  {
    name: 'unknown cmd',
    frame: env('r9', 'WEBRTC_BYE', { from: 'eve', to: 'pat', data: {} }),
    code: 400,
    msg: '未知的cmd "WEBRTC_BYE"',
    requestId: 'r9',
    cmd: 'WEBRTC_BYE',
  },
  {
    name: 'missing data',
    frame: { requestId: 'r10', module: 'ROOM', cmd: 'WEBRTC_OFFER', code: 200, msg: 'success' },
    code: 400,
    msg: '缺少字段 data',
    requestId: 'r10',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'data not an object',
    frame: env('r11', 'WEBRTC_ANSWER', 'offer'),
    code: 400,
    msg: '字段 data 无效',
    requestId: 'r11',
    cmd: 'WEBRTC_ANSWER',
  },
  {
    name: 'data.from missing',
    frame: env('r12', 'WEBRTC_OFFER', { to: 'pat', data: offer }),
    code: 400,
    msg: '缺少字段 data.from',
    requestId: 'r12',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'data.to not a string',
    frame: env('r13', 'WEBRTC_ICE_CANDIDATE', { from: 'eve', to: 42, data: {} }),
    code: 400,
    msg: '字段 data.to 无效',
    requestId: 'r13',
    cmd: 'WEBRTC_ICE_CANDIDATE',
  },
  {
    name: 'data.data missing',
    frame: env('r14', 'WEBRTC_OFFER', { from: 'eve', to: 'pat' }),
    code: 400,
    msg: '缺少字段 data.data',
    requestId: 'r14',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'JOIN_ROOM with an empty roomId',
    frame: env('r15', 'JOIN_ROOM', { roomId: '' }),
    code: 400,
    msg: 'data.roomId',
    requestId: 'r15',
    cmd: 'JOIN_ROOM',
  },
  {
    name: 'signal to oneself',
    frame: env('r16', 'WEBRTC_OFFER', { from: 'eve', to: 'eve', data: offer }),
    code: 400,
    msg: '发送方自己',
    requestId: 'r16',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'spoofed from',
    frame: env('r17', 'WEBRTC_OFFER', { from: 'pat', to: 'eve', data: offer }),
    code: 1000,
    msg: '发送方与登录用户不一致',
    requestId: 'r17',
    cmd: 'WEBRTC_OFFER',
  },
  {
    name: 'oversize frame (refused unread; its requestId and cmd are read from its start)',
    frame: env('r18', 'WEBRTC_OFFER', {
      from: 'eve',
      to: 'pat',
      data: { type: 'offer', sdp: 'a'.repeat(MAX_FRAME) },
    }),
    code: 400,
    msg: '消息过大',
    requestId: 'r18',
    cmd: 'WEBRTC_OFFER',
  },
];

let srv: TestServer;
let eve: TestClient;
let pat: TestClient;
before(async () => {
  // A generous rate: every row sends two frames from the same user.
  srv = await startServer({
    limits: { maxFrameBytes: MAX_FRAME, ratePerSec: 1000, rateBurst: 1000 },
  });
  eve = await srv.connect('eve', 'room', 'web', { grants: ['voice'] });
  pat = await srv.connect('pat', 'room', 'web', { grants: ['voice'] });
  for (const c of [eve, pat]) {
    c.send(env('join', 'JOIN_ROOM', { roomId: 'bad-input' }));
    assert.equal((await c.next((f) => f.requestId === 'join')).code, 200);
  }
  await eve.next((f) => f.cmd === 'MEMBER_JOINED' && f.data.userId === 'pat');
});
after(() => srv.close());

let n = 0;
/** The connection still works: a request gets its 200. */
async function stillWorks(c: TestClient): Promise<void> {
  const requestId = `alive-${++n}`;
  c.send(env(requestId, 'ROOM_MEMBERS', { roomId: 'bad-input' }));
  const r = await c.next((f) => f.requestId === requestId);
  assert.equal(r.code, 200, JSON.stringify(r));
  assert.equal(r.data.members.length, 2);
}

for (const row of ROWS) {
  test(`bad input: ${row.name} → ${row.code}`, async () => {
    eve.send(row.frame);
    const err: Frame = await eve.next((f) => f.code !== 200);
    assert.equal(err.module, 'ROOM', JSON.stringify(err));
    assert.equal(err.code, row.code, JSON.stringify(err));
    if (row.code === 400) assert.ok(String(err.msg).includes(row.msg), `msg: ${err.msg}`);
    else assert.equal(err.msg, row.msg);
    assert.equal(err.cmd, row.cmd, 'cmd');
    assert.equal(err.data, null, 'data');
    if (row.requestId === undefined) assert.equal('requestId' in err, false, 'no requestId');
    else assert.equal(err.requestId, row.requestId, 'requestId echoed');
    assert.deepEqual(
      Object.keys(err).sort(),
      [
        ...(row.requestId === undefined ? [] : ['requestId']),
        'cmd',
        'code',
        'data',
        'module',
        'msg',
      ].sort(),
    );

    await stillWorks(eve);
    assert.equal(eve.closed, null);
    assert.deepEqual(await eve.quiet(0), [], 'exactly one error frame');
    assert.deepEqual(await pat.quiet(0), [], 'nothing reached the other member');
  });
}

test('rate limited → 1000 请求过于频繁，请稍后再试 (a code the spec allows); the connection stays', async () => {
  const slow = await startServer({ limits: { ratePerSec: 2, rateBurst: 2 } });
  try {
    const c = await slow.connect('ron', 'room', 'web');
    for (let i = 0; i < 3; i++) c.send(env(`q${i}`, 'JOIN_ROOM', { roomId: 'r' }));
    assert.equal((await c.next((f) => f.requestId === 'q0')).code, 200);
    assert.equal((await c.next((f) => f.requestId === 'q1')).code, 200);
    // The refused frame is not parsed, but its requestId and cmd are read from its start.
    assert.deepEqual(await c.next(), {
      requestId: 'q2',
      module: 'ROOM',
      cmd: 'JOIN_ROOM',
      code: 1000,
      msg: '请求过于频繁，请稍后再试',
      data: null,
    });
    await new Promise((r) => setTimeout(r, 600));
    c.send(env('later', 'ROOM_MEMBERS', { roomId: 'r' }));
    assert.equal((await c.next((f) => f.requestId === 'later')).code, 200);
  } finally {
    await slow.close();
  }
});
