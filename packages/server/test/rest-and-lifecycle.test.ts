import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/** The REST API (call history), health and metrics endpoints, and graceful shutdown. */

const nOf =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

async function get(
  srv: TestServer,
  path: string,
  token?: string,
): Promise<{ status: number; body: Frame }> {
  const res = await fetch(`${srv.httpBase}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as Frame };
}

/** Invites `callee` natively and returns the call id. */
async function invite(caller: TestClient, callee: string): Promise<string> {
  const r = await caller.request('call:invite', { callee, media: 'video' });
  assert.equal(r.type, 'ok', JSON.stringify(r));
  return r.data.callId as string;
}

/** The call ids of a history page, in order. */
const ids = (body: Frame): string[] =>
  (body.data.records as Frame[]).map((r) => r.callId as string);

/** The value of one sample line of a Prometheus exposition (0 when absent). */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('REST API, health and metrics', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 },
      limits: { ratePerSec: 1, rateBurst: 10, floodStrikes: 1000 },
    });
  });
  after(() => srv.close());

  test('GET /api/calls: own calls only, newest first, paged; GET /api/calls/:id', async () => {
    const alice = await srv.connect('h-alice');
    const bob = await srv.connect('h-bob');
    const carol = await srv.connect('h-carol');

    // c1: alice → an offline user.
    const c1 = await invite(alice, 'h-ghost');
    await alice.next(nOf('call:record', c1));
    // c2: alice → bob, cancelled.
    const c2 = await invite(alice, 'h-bob');
    await bob.next(nOf('call:incoming', c2));
    assert.equal((await alice.request('call:hangup', { callId: c2 })).type, 'ok');
    await alice.next(nOf('call:record', c2));
    // cx: carol → an offline user (not alice's).
    const cx = await invite(carol, 'h-ghost');
    await carol.next(nOf('call:record', cx));
    // c3: bob → alice, answered and hung up.
    const c3 = await invite(bob, 'h-alice');
    await alice.next(nOf('call:incoming', c3));
    assert.equal((await alice.request('call:accept', { callId: c3 })).type, 'ok');
    await bob.next(nOf('call:accepted', c3));
    assert.equal((await bob.request('call:hangup', { callId: c3 })).type, 'ok');
    await alice.next(nOf('call:record', c3));
    await bob.next(nOf('call:record', c3));

    const aliceToken = await srv.token('h-alice');
    const p1 = await get(srv, '/api/calls?limit=2', aliceToken);
    assert.equal(p1.status, 200);
    assert.equal(p1.body.code, 0);
    assert.deepEqual(ids(p1.body), [c3, c2]);
    assert.equal(typeof p1.body.data.next, 'string');
    const p2 = await get(
      srv,
      `/api/calls?limit=2&cursor=${encodeURIComponent(p1.body.data.next as string)}`,
      aliceToken,
    );
    assert.equal(p2.status, 200);
    assert.deepEqual(ids(p2.body), [c1]);
    assert.equal(p2.body.data.next, null);

    const all = await get(srv, '/api/calls', aliceToken);
    const recs = all.body.data.records as Frame[];
    assert.deepEqual(ids(all.body), [c3, c2, c1]);
    assert.deepEqual(
      recs.map((r): unknown[] => [r.status, r.reason]),
      [
        ['completed', 'hangup'],
        ['cancelled', 'cancelled'],
        ['missed', 'offline'],
      ],
    );
    assert.equal(recs[0]!.caller, 'h-bob');
    assert.equal(recs[0]!.answeredBy.clientType, 'web');
    const bobs = await get(srv, '/api/calls', await srv.token('h-bob'));
    assert.deepEqual(ids(bobs.body), [c3, c2]);
    const carols = await get(srv, '/api/calls', await srv.token('h-carol'));
    assert.deepEqual(ids(carols.body), [cx]);

    for (const bad of ['0', '101', 'abc', '1.5']) {
      const r = await get(srv, `/api/calls?limit=${bad}`, aliceToken);
      assert.equal(r.status, 400, `limit=${bad}`);
      assert.equal(r.body.error, 'bad_request');
    }

    // One call: its parties see it; anyone else gets 404; no token gets 401.
    for (const user of ['h-alice', 'h-bob']) {
      const one = await get(srv, `/api/calls/${encodeURIComponent(c3)}`, await srv.token(user));
      assert.equal(one.status, 200, user);
      assert.equal(one.body.data.callId, c3);
      assert.equal(one.body.data.status, 'completed');
      assert.equal(one.body.data.caller, 'h-bob');
      assert.equal(one.body.data.callee, 'h-alice');
    }
    const stranger = await get(
      srv,
      `/api/calls/${encodeURIComponent(c3)}`,
      await srv.token('h-carol'),
    );
    assert.equal(stranger.status, 404);
    assert.equal(stranger.body.error, 'not_found');
    assert.equal(stranger.body.code, 40401);
    const unknown = await get(srv, '/api/calls/no-such-call', aliceToken);
    assert.equal(unknown.status, 404);
    for (const token of [undefined, 'not.a.jwt']) {
      for (const path of ['/api/calls', `/api/calls/${encodeURIComponent(c3)}`]) {
        const r = await get(srv, path, token);
        assert.equal(r.status, 401, `${path} with ${token ?? 'no token'}`);
        assert.equal(r.body.error, 'unauthorized');
        assert.equal(r.body.code, 40101);
      }
    }
  });

  test('/healthz counts connections and live calls', async () => {
    const h0 = await get(srv, '/healthz');
    assert.equal(h0.status, 200);
    assert.equal(h0.body.status, 'ok');
    const alice = await srv.connect('hz-alice');
    const bob = await srv.connect('hz-bob');
    const callId = await invite(alice, 'hz-bob');
    await bob.next(nOf('call:incoming', callId));
    const h1 = await get(srv, '/healthz');
    assert.equal(h1.body.connections, h0.body.connections + 2);
    assert.equal(h1.body.calls, h0.body.calls + 1);
    await alice.request('call:hangup', { callId });
    await bob.next(nOf('call:record', callId));
    const h2 = await get(srv, '/healthz');
    assert.equal(h2.body.calls, h0.body.calls);
  });

  test('/metrics exposes and counts calls, relays, errors, rate limits and ring time', async () => {
    const names = [
      'parley_calls_ended_total',
      'parley_messages_relayed_total',
      'parley_errors_total',
      'parley_rate_limited_total',
      'parley_call_ring_seconds',
    ];
    const scrape = async () => {
      const res = await fetch(`${srv.httpBase}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      return res.text();
    };
    const before = await scrape();
    for (const n of names) assert.match(before, new RegExp(`^# TYPE ${n} `, 'm'), n);

    const alice = await srv.connect('m-alice');
    const bob = await srv.connect('m-bob');
    // A cancelled call.
    const c1 = await invite(alice, 'm-bob');
    await bob.next(nOf('call:incoming', c1));
    await alice.request('call:hangup', { callId: c1 });
    await bob.next(nOf('call:record', c1));
    // An answered call with one offer relayed, hung up.
    const c2 = await invite(alice, 'm-bob');
    await bob.next(nOf('call:incoming', c2));
    await bob.request('call:accept', { callId: c2 });
    await alice.next(nOf('call:accepted', c2));
    alice.send({ type: 'call:offer', data: { callId: c2, sdp: 'v=0' } });
    await bob.next(nOf('call:offer', c2));
    await bob.request('call:hangup', { callId: c2 });
    await alice.next(nOf('call:record', c2));
    // An error.
    const err = await alice.request('call:accept', { callId: 'no-such-call' });
    assert.equal(err.error.code, 'not_found');
    // A burst beyond the rate limit.
    const spam = await srv.connect('m-spammer');
    for (let i = 0; i < 15; i++) spam.send({ type: 'call:hangup', data: { callId: 'none' } });
    await spam.next((f) => f.error?.code === 'rate_limited');

    const now = await scrape();
    const delta = (name: string) => sample(now, name) - sample(before, name);
    assert.equal(delta('parley_calls_ended_total{reason="cancelled"}'), 1);
    assert.equal(delta('parley_calls_ended_total{reason="hangup"}'), 1);
    assert.equal(delta('parley_messages_relayed_total{kind="offer"}'), 1);
    assert.ok(delta('parley_errors_total{code="not_found"}') >= 1);
    assert.ok(delta('parley_errors_total{code="rate_limited"}') >= 1);
    assert.ok(delta('parley_rate_limited_total') >= 1);
    assert.equal(delta('parley_call_ring_seconds_count'), 2);
    assert.ok(delta('parley_call_ring_seconds_sum') >= 0);
  });
});

describe('graceful shutdown', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('live calls end with shutdown, records are written, sockets close with 1001', async () => {
    const alice = await srv.connect('sd-alice', 'native');
    const bob = await srv.connect('sd-bob', 'video_call', 'ios');
    const carol = await srv.connect('sd-carol', 'native');
    const dave = await srv.connect('sd-dave', 'native');

    // An accepted call across dialects…
    const callId = await invite(alice, 'sd-bob');
    bob.send({
      type: 'video_call',
      data: { type: 'call_accept', caller_userid: 'sd-alice', callee_userid: 'sd-bob' },
    });
    await alice.next(nOf('call:accepted', callId));
    // …and one still ringing.
    const ringing = await invite(carol, 'sd-dave');
    await dave.next(nOf('call:incoming', ringing));

    // What each client had received by the time its socket closed.
    const atClose = new Map<TestClient, Frame[]>();
    for (const c of [alice, bob, carol, dave]) {
      c.ws.once('close', () => atClose.set(c, [...c.frames]));
    }
    await srv.app.close();
    for (const c of [alice, bob, carol, dave]) {
      assert.equal((await c.waitClose()).code, 1001);
    }

    const endedN = (c: TestClient, id: string) =>
      atClose.get(c)!.find((f) => f.type === 'call:ended' && f.data.callId === id);
    const recordN = (c: TestClient, id: string) =>
      atClose.get(c)!.find((f) => f.type === 'call:record' && f.data.record.callId === id);
    assert.equal(endedN(alice, callId)?.data.reason, 'shutdown');
    assert.equal(recordN(alice, callId)?.data.record.reason, 'shutdown');
    assert.equal(recordN(alice, callId)?.data.record.status, 'completed');
    const bobEnd = atClose
      .get(bob)!
      .find((f) => f.data?.type === 'call_end' && f.data.call_id === callId);
    assert.equal(bobEnd?.data.reason, 'shutdown');
    const bobRec = atClose
      .get(bob)!
      .find((f) => f.data?.type === 'call_record' && f.data.call_id === callId);
    assert.equal(bobRec?.data.reason, 'shutdown');
    for (const c of [carol, dave]) {
      assert.equal(endedN(c, ringing)?.data.reason, 'shutdown');
      assert.equal(recordN(c, ringing)?.data.record.status, 'failed');
    }

    // The rows, read from the database file the node left behind.
    const db = new SQLite(join(srv.app.config.dataDir, 'parley.sqlite'), { readonly: true });
    try {
      const row = (id: string) =>
        db.prepare('select * from call_records where call_id = ?').get(id) as Frame;
      const r1 = row(callId);
      assert.equal(r1.end_reason, 'shutdown');
      assert.equal(r1.status, 3);
      assert.equal(r1.answered_client_type, 'ios');
      assert.ok(r1.end_time);
      assert.notEqual(r1.ring_ms, null);
      const r2 = row(ringing);
      assert.equal(r2.end_reason, 'shutdown');
      assert.equal(r2.status, 0);
      assert.equal(r2.answered_device, null);
      assert.ok(r2.end_time);
    } finally {
      db.close();
    }
  });
});
