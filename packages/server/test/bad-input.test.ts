import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { ENDPOINT, startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * Hostile and broken input: every bad frame gets a typed error in the sender's dialect and the
 * connection stays usable; floods are closed with 4029; bad credentials never get a socket.
 */

const MAX_FRAME = 2048;
const long = (n: number): string => 'x'.repeat(n);

interface NativeRow {
  name: string;
  frame: string | Buffer | Record<string, unknown>;
  code: string;
  /** The requestId the error must echo; absent when the frame has no usable one. */
  requestId?: string;
}

const nativeRows: NativeRow[] = [
  { name: 'malformed JSON', frame: '{"type":"call:invite",', code: 'bad_request' },
  { name: 'empty frame', frame: '', code: 'bad_request' },
  {
    name: 'binary frame',
    frame: Buffer.from(JSON.stringify({ type: 'call:accept', data: { callId: 'c' } })),
    code: 'bad_request',
  },
  { name: 'JSON array', frame: '[1,2,3]', code: 'bad_request' },
  { name: 'JSON number', frame: '42', code: 'bad_request' },
  { name: 'JSON null', frame: 'null', code: 'bad_request' },
  { name: 'JSON string', frame: '"call:invite"', code: 'bad_request' },
  {
    name: 'missing type',
    frame: { data: {}, requestId: 'r-mt' },
    code: 'bad_request',
    requestId: 'r-mt',
  },
  {
    name: 'empty type',
    frame: { type: '', requestId: 'r-et' },
    code: 'bad_request',
    requestId: 'r-et',
  },
  {
    name: 'type not a string',
    frame: { type: 7, requestId: 'r-tn' },
    code: 'bad_request',
    requestId: 'r-tn',
  },
  {
    name: 'over-long type',
    frame: { type: long(65), requestId: 'r-lt' },
    code: 'bad_request',
    requestId: 'r-lt',
  },
  {
    name: 'unknown type',
    frame: { type: 'call:dance', requestId: 'r-ut' },
    code: 'unknown_type',
    requestId: 'r-ut',
  },
  {
    name: 'requestId not a string',
    frame: { type: 'call:accept', data: { callId: 'c' }, requestId: 5 },
    code: 'bad_request',
  },
  {
    name: 'over-long requestId (not echoed)',
    frame: { type: 'call:accept', data: { callId: 'c' }, requestId: long(129) },
    code: 'bad_request',
  },
  {
    name: 'data not an object',
    frame: { type: 'call:accept', data: 'abc', requestId: 'r-do' },
    code: 'bad_request',
    requestId: 'r-do',
  },
  {
    name: 'accept without callId',
    frame: { type: 'call:accept', data: {}, requestId: 'r-1' },
    code: 'bad_request',
    requestId: 'r-1',
  },
  {
    name: 'accept without data',
    frame: { type: 'call:accept', requestId: 'r-2' },
    code: 'bad_request',
    requestId: 'r-2',
  },
  {
    name: 'callId a number',
    frame: { type: 'call:hangup', data: { callId: 5 }, requestId: 'r-3' },
    code: 'bad_request',
    requestId: 'r-3',
  },
  {
    name: 'over-long callId',
    frame: { type: 'call:hangup', data: { callId: long(129) }, requestId: 'r-4' },
    code: 'bad_request',
    requestId: 'r-4',
  },
  {
    name: 'empty callId',
    frame: { type: 'call:hangup', data: { callId: '' }, requestId: 'r-5' },
    code: 'bad_request',
    requestId: 'r-5',
  },
  {
    name: 'hangup with unknown reason',
    frame: { type: 'call:hangup', data: { callId: 'c', reason: 'bored' }, requestId: 'r-6' },
    code: 'bad_request',
    requestId: 'r-6',
  },
  {
    name: 'invite without callee',
    frame: { type: 'call:invite', data: { media: 'video' }, requestId: 'r-7' },
    code: 'bad_request',
    requestId: 'r-7',
  },
  {
    name: 'invite without media',
    frame: { type: 'call:invite', data: { callee: 'bob' }, requestId: 'r-8' },
    code: 'bad_request',
    requestId: 'r-8',
  },
  {
    name: 'invite callee a number',
    frame: { type: 'call:invite', data: { callee: 42, media: 'video' }, requestId: 'r-9' },
    code: 'bad_request',
    requestId: 'r-9',
  },
  {
    name: 'invite unknown media',
    frame: { type: 'call:invite', data: { callee: 'bob', media: 'hologram' }, requestId: 'r-10' },
    code: 'bad_request',
    requestId: 'r-10',
  },
  {
    name: 'invite keepCalling not boolean',
    frame: {
      type: 'call:invite',
      data: { callee: 'bob', media: 'audio', keepCalling: 'yes' },
      requestId: 'r-11',
    },
    code: 'bad_request',
    requestId: 'r-11',
  },
  {
    name: 'invite over-long callee',
    frame: { type: 'call:invite', data: { callee: long(129), media: 'audio' }, requestId: 'r-12' },
    code: 'bad_request',
    requestId: 'r-12',
  },
  {
    name: 'invite self',
    frame: {
      type: 'call:invite',
      data: { callee: 'bi-native', media: 'audio' },
      requestId: 'r-13',
    },
    code: 'self_call',
    requestId: 'r-13',
  },
  {
    name: 'offer without sdp',
    frame: { type: 'call:offer', data: { callId: 'c' }, requestId: 'r-14' },
    code: 'bad_request',
    requestId: 'r-14',
  },
  {
    name: 'offer with empty sdp',
    frame: { type: 'call:offer', data: { callId: 'c', sdp: '' }, requestId: 'r-15' },
    code: 'bad_request',
    requestId: 'r-15',
  },
  {
    name: 'answer sdp a number',
    frame: { type: 'call:answer', data: { callId: 'c', sdp: 5 }, requestId: 'r-16' },
    code: 'bad_request',
    requestId: 'r-16',
  },
  {
    name: 'ice candidate a string',
    frame: { type: 'call:ice', data: { callId: 'c', candidate: 'x' }, requestId: 'r-17' },
    code: 'bad_request',
    requestId: 'r-17',
  },
  {
    name: 'ice without candidate',
    frame: { type: 'call:ice', data: { callId: 'c' }, requestId: 'r-18' },
    code: 'bad_request',
    requestId: 'r-18',
  },
  {
    name: 'ice negative sdpMLineIndex',
    frame: {
      type: 'call:ice',
      data: { callId: 'c', candidate: { candidate: 'a', sdpMLineIndex: -1 } },
      requestId: 'r-19',
    },
    code: 'bad_request',
    requestId: 'r-19',
  },
  {
    name: 'accept unknown call',
    frame: { type: 'call:accept', data: { callId: 'no-such-call' }, requestId: 'r-20' },
    code: 'not_found',
    requestId: 'r-20',
  },
  {
    name: 'frame over limits.maxFrameBytes',
    frame: { type: 'call:offer', data: { callId: 'c', sdp: long(MAX_FRAME) }, requestId: 'r-big' },
    code: 'frame_too_large',
  },
];

interface VcRow {
  name: string;
  frame: string | Buffer | Record<string, unknown>;
  code: string;
  /** `request_type` the error must name (the frame's data.type), when it has one. */
  requestType?: string;
}

const ME = 'bi-vc';
const vc = (data: Record<string, unknown>) => ({ type: 'video_call', data });
const pair = (type: string, extra: Record<string, unknown> = {}) =>
  vc({ type, caller_userid: ME, callee_userid: 'bi-peer', ...extra });

const vcRows: VcRow[] = [
  { name: 'malformed JSON', frame: '{"type":"video_call","data":', code: 'bad_request' },
  {
    name: 'binary frame',
    frame: Buffer.from(JSON.stringify(pair('call_request'))),
    code: 'bad_request',
  },
  { name: 'JSON array', frame: '[]', code: 'bad_request' },
  { name: 'JSON number', frame: '7', code: 'bad_request' },
  { name: 'JSON null', frame: 'null', code: 'bad_request' },
  {
    name: 'missing envelope type',
    frame: { data: pair('call_request').data },
    code: 'bad_request',
  },
  {
    name: 'wrong envelope type',
    frame: { type: 'chat', data: pair('call_request').data },
    code: 'bad_request',
  },
  {
    name: 'envelope type in capitals',
    frame: { type: 'VIDEO_CALL', data: pair('call_request').data },
    code: 'bad_request',
  },
  { name: 'missing data', frame: { type: 'video_call' }, code: 'bad_request' },
  {
    name: 'data not an object',
    frame: { type: 'video_call', data: 'call_request' },
    code: 'bad_request',
  },
  {
    name: 'missing data.type',
    frame: vc({ caller_userid: ME, callee_userid: 'bi-peer' }),
    code: 'bad_request',
  },
  { name: 'data.type not a string', frame: vc({ type: 3 }), code: 'bad_request' },
  {
    name: 'unknown data.type',
    frame: pair('call_dance'),
    code: 'unknown_type',
    requestType: 'call_dance',
  },
  {
    name: 'callee_userid a number',
    frame: pair('call_request', { callee_userid: 5 }),
    code: 'bad_request',
    requestType: 'call_request',
  },
  {
    name: 'call_request missing callee_userid',
    frame: vc({ type: 'call_request', caller_userid: ME }),
    code: 'bad_request',
    requestType: 'call_request',
  },
  {
    name: 'call_accept missing caller_userid',
    frame: vc({ type: 'call_accept', callee_userid: ME }),
    code: 'bad_request',
    requestType: 'call_accept',
  },
  {
    name: 'unknown media',
    frame: pair('call_request', { media: 'hologram' }),
    code: 'bad_request',
    requestType: 'call_request',
  },
  {
    name: 'keep_calling not boolean',
    frame: pair('call_request', { keep_calling: 'yes' }),
    code: 'bad_request',
    requestType: 'call_request',
  },
  {
    name: 'over-long callee_userid',
    frame: pair('call_request', { callee_userid: long(129) }),
    code: 'bad_request',
    requestType: 'call_request',
  },
  {
    name: 'over-long call_id',
    frame: pair('call_end', { call_id: long(129) }),
    code: 'bad_request',
    requestType: 'call_end',
  },
  {
    name: 'rtc_offer missing sdp',
    frame: pair('rtc_offer'),
    code: 'bad_request',
    requestType: 'rtc_offer',
  },
  {
    name: 'rtc_offer with sdp_type answer',
    frame: pair('rtc_offer', { sdp: 'v=0', sdp_type: 'answer' }),
    code: 'bad_request',
    requestType: 'rtc_offer',
  },
  {
    name: 'rtc_answer sdp not a string',
    frame: pair('rtc_answer', { sdp: {} }),
    code: 'bad_request',
    requestType: 'rtc_answer',
  },
  {
    name: 'candidate a string',
    frame: pair('rtc_ice_candidate', { candidate: 'x' }),
    code: 'bad_request',
    requestType: 'rtc_ice_candidate',
  },
  {
    name: 'missing candidate',
    frame: pair('rtc_ice_candidate'),
    code: 'bad_request',
    requestType: 'rtc_ice_candidate',
  },
  {
    name: 'spoofed caller_userid',
    frame: vc({ type: 'call_request', caller_userid: 'bi-peer', callee_userid: 'bi-other' }),
    code: 'forbidden',
    requestType: 'call_request',
  },
  {
    name: 'call_accept for someone else',
    frame: vc({ type: 'call_accept', caller_userid: ME, callee_userid: 'bi-peer' }),
    code: 'forbidden',
    requestType: 'call_accept',
  },
  {
    name: 'call_end for a pair without me',
    frame: vc({ type: 'call_end', caller_userid: 'bi-peer', callee_userid: 'bi-other' }),
    code: 'forbidden',
    requestType: 'call_end',
  },
  {
    name: 'ice for a pair without me',
    frame: vc({
      type: 'rtc_ice_candidate',
      caller_userid: 'bi-peer',
      callee_userid: 'bi-other',
      candidate: null,
    }),
    code: 'forbidden',
    requestType: 'rtc_ice_candidate',
  },
  {
    name: 'call_request to myself',
    frame: vc({ type: 'call_request', caller_userid: ME, callee_userid: ME }),
    code: 'self_call',
    requestType: 'call_request',
  },
  {
    name: 'call_end with no live call',
    frame: pair('call_end'),
    code: 'not_found',
    requestType: 'call_end',
  },
  {
    name: 'frame over limits.maxFrameBytes',
    frame: pair('rtc_offer', { sdp: long(MAX_FRAME) }),
    code: 'frame_too_large',
  },
];

describe('bad input', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 },
      limits: { maxFrameBytes: MAX_FRAME, rateBurst: 1000 },
    });
  });
  after(() => srv.close());

  test('native: every bad frame gets its error and the connection stays usable', async () => {
    const c = await srv.connect('bi-native');
    for (const [i, row] of nativeRows.entries()) {
      c.send(row.frame);
      const err = await c.next((f) => f.type === 'error');
      assert.equal(err.error.code, row.code, `${row.name}: ${JSON.stringify(err)}`);
      assert.equal(typeof err.error.message, 'string', row.name);
      if (row.requestId === undefined)
        assert.ok(!('requestId' in err), `${row.name}: no requestId`);
      else assert.equal(err.requestId, row.requestId, `${row.name}: requestId echoed`);
      await stillWorksNative(c, `bi-ghost-${i}`, row.name);
    }
    assert.deepEqual(await c.quiet(), []);
    assert.equal(c.closed, null);
  });

  test('video_call: every bad frame gets its error and the connection stays usable', async () => {
    const c = await srv.connect(ME, 'video_call');
    for (const [i, row] of vcRows.entries()) {
      c.send(row.frame);
      const err = await c.next((f) => f.type === 'video_call' && f.data?.type === 'error');
      assert.equal(err.data.code, row.code, `${row.name}: ${JSON.stringify(err)}`);
      assert.equal(typeof err.data.message, 'string', row.name);
      assert.equal(err.data.request_type, row.requestType, `${row.name}: request_type`);
      await stillWorksVc(c, `bi-vghost-${i}`, row.name);
    }
    assert.deepEqual(await c.quiet(), []);
    assert.equal(c.closed, null);
  });
});

/** A real request right after a bad one: an invite to an offline user, answered in full. */
async function stillWorksNative(c: TestClient, callee: string, after: string): Promise<void> {
  const r = await c.request('call:invite', { callee, media: 'audio' });
  assert.equal(r.type, 'ok', `request after "${after}": ${JSON.stringify(r)}`);
  const callId = r.data.callId as string;
  const end = await c.next((f) => f.type === 'call:ended' && f.data.callId === callId);
  assert.equal(end.data.reason, 'offline');
  await c.next((f) => f.type === 'call:record' && f.data.record.callId === callId);
}

async function stillWorksVc(c: TestClient, callee: string, after: string): Promise<void> {
  c.send(vc({ type: 'call_request', caller_userid: ME, callee_userid: callee }));
  const end = await c.next(
    (f: Frame) => f.data?.type === 'no_answer' && f.data.callee_userid === callee,
  );
  assert.equal(end.data.reason, 'offline', `request after "${after}"`);
  await c.next((f) => f.data?.type === 'call_record' && f.data.call_id === end.data.call_id);
}

describe('rate limits', () => {
  const limits = { ratePerSec: 1, rateBurst: 5, floodStrikes: 3, floodWindowMs: 60_000 };
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ limits });
  });
  after(() => srv.close());

  test('native: a burst within rateBurst passes', async () => {
    const c = await srv.connect('rl-burst');
    const replies = await Promise.all(
      Array.from({ length: limits.rateBurst }, () => c.request('call:hangup', { callId: 'none' })),
    );
    assert.deepEqual(
      replies.map((r): unknown => r.error?.code),
      Array<string>(limits.rateBurst).fill('not_found'),
    );
    assert.equal(c.closed, null);
  });

  test('native: a sustained flood gets rate_limited, then the socket closes with 4029', async () => {
    const c = await srv.connect('rl-flood');
    for (let i = 0; i < 40; i++) {
      c.send({ type: 'call:hangup', data: { callId: 'none' }, requestId: `f${i}` });
    }
    const closed = await c.waitClose();
    assert.equal(closed.code, 4029);
    const limited = c.frames.filter((f) => f.error?.code === 'rate_limited');
    // Every strike before the last is answered; the last one closes the socket.
    assert.equal(limited.length, limits.floodStrikes - 1, JSON.stringify(c.frames));
    assert.ok(limited.every((f) => typeof f.requestId !== 'string' || f.requestId.startsWith('f')));
  });

  test('native: a client that keeps pinging past its budget is a flood too (4029)', async () => {
    const c = await srv.connect('rl-pings');
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    // A keepalive's pings are answered: the burst of 10.
    for (let i = 0; i < 10; i++) c.ws.ping();
    const ok = await c.request('call:hangup', { callId: 'none' });
    assert.equal(ok.error?.code, 'not_found');
    assert.equal(pongs, 10);
    assert.equal(c.closed, null);
    // Past it, each ping is a strike: floodStrikes of them close the socket.
    for (let i = 0; i < limits.floodStrikes; i++) c.ws.ping();
    const closed = await c.waitClose();
    assert.equal(closed.code, 4029);
    assert.equal(pongs, 10);
  });

  test('video_call: a burst within rateBurst passes', async () => {
    const c = await srv.connect('rl-vburst', 'video_call');
    for (let i = 0; i < limits.rateBurst; i++) {
      c.send(vc({ type: 'call_end', caller_userid: 'rl-vburst', callee_userid: 'nobody' }));
    }
    for (let i = 0; i < limits.rateBurst; i++) {
      const e = await c.next((f) => f.data?.type === 'error');
      assert.equal(e.data.code, 'not_found');
    }
    assert.equal(c.closed, null);
  });

  test('video_call: a sustained flood gets rate_limited, then the socket closes with 4029', async () => {
    const c = await srv.connect('rl-vflood', 'video_call');
    for (let i = 0; i < 40; i++) {
      c.send(vc({ type: 'call_end', caller_userid: 'rl-vflood', callee_userid: 'nobody' }));
    }
    const closed = await c.waitClose();
    assert.equal(closed.code, 4029);
    const limited = c.frames.filter((f) => f.data?.code === 'rate_limited');
    assert.equal(limited.length, limits.floodStrikes - 1, JSON.stringify(c.frames));
  });
});

/** Attempts an upgrade that must be refused; resolves with the HTTP status. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

describe('upgrade authentication', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('no, bad or expired token → HTTP 401 and no socket', async () => {
    const secret = new TextEncoder().encode(srv.app.config.auth.jwtSecret);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ name: 'Old' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bi-old')
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 60)
      .sign(secret);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bi-noexp')
      .sign(secret);
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bi-forged')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-0123456789abcdef'));
    const good = await srv.token('bi-good');

    for (const path of Object.values(ENDPOINT)) {
      const base = `${srv.wsBase}${path}`;
      const rows: Array<[string, string, Record<string, string>?]> = [
        ['no token', base],
        ['empty token', `${base}?token=`],
        ['garbage token', `${base}?token=not.a.jwt`],
        ['expired token', `${base}?token=${expired}`],
        ['token without exp', `${base}?token=${noExp}`],
        ['token signed with another key', `${base}?token=${otherKey}`],
        ['bad bearer header', base, { authorization: 'Bearer not.a.jwt' }],
        ['expired bearer header', base, { authorization: `Bearer ${expired}` }],
      ];
      for (const [name, url, headers] of rows) {
        assert.equal(await refusedUpgrade(url, headers), 401, `${path}: ${name}`);
      }
      // A bad clientType is refused too, even with a good token.
      assert.equal(await refusedUpgrade(`${base}?token=${good}&clientType=a%20b`), 400);
    }

    const health = (await (await fetch(`${srv.httpBase}/healthz`)).json()) as Frame;
    assert.equal(health.connections, 0, 'no refused upgrade left a socket behind');

    // The same endpoint takes a good token (in the query or as a bearer header).
    const ok = await srv.connect('bi-good');
    assert.equal(ok.ws.readyState, WebSocket.OPEN);
    const viaHeader = new WebSocket(`${srv.wsBase}/ws`, {
      headers: { authorization: `Bearer ${good}` },
    });
    await new Promise((resolve, reject) => {
      viaHeader.once('open', resolve);
      viaHeader.once('error', reject);
    });
    viaHeader.close();
  });
});
