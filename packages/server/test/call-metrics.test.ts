import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * The key call metrics of the chat-protobuf spec (监控和日志) as /metrics shows them after real
 * calls over the native dialect: answered calls, call duration, and what the parties' devices
 * report of their media with `call:media` (success rate, connection time, error rate), which
 * is also stored on the call's record.
 */

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

/** One sample of a metric as /metrics has it (0 when absent), summed over the cluster's nodes. */
async function sample(line: string): Promise<number> {
  let sum = 0;
  for (const app of srv.apps) {
    const text = await app.metrics.registry.metrics();
    const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
    sum += hit ? Number(hit.slice(line.length + 1)) : 0;
  }
  return sum;
}

async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'ok', `${type}: ${JSON.stringify(r)}`);
  return r;
}

const of = (type: string, callId: string) => (f: Frame) =>
  f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

/** A call from `a` to `b`'s user, answered by `b` unless `answer` is false; returns its id. */
async function call(a: TestClient, b: TestClient, callee: string, answer = true): Promise<string> {
  const callId = (await ok(a, 'call:invite', { callee, media: 'audio' })).data.callId as string;
  await b.next(of('call:incoming', callId));
  if (answer) {
    await ok(b, 'call:accept', { callId });
    await a.next(of('call:accepted', callId));
  }
  return callId;
}

test('answered calls and the duration of each are counted; unanswered ones are not', async () => {
  const alice = await srv.connect('km-alice');
  const bob = await srv.connect('km-bob');
  const answered = await sample('parley_calls_answered_total');
  const durations = await sample('parley_call_duration_seconds_count');

  const cancelled = await call(alice, bob, 'km-bob', false);
  await ok(alice, 'call:hangup', { callId: cancelled });
  await alice.next(of('call:record', cancelled));
  const talked = await call(alice, bob, 'km-bob');
  await ok(bob, 'call:hangup', { callId: talked });
  await alice.next(of('call:record', talked));

  assert.equal(await sample('parley_calls_answered_total'), answered + 1);
  assert.equal(await sample('parley_call_duration_seconds_count'), durations + 1);
  assert.equal(await sample('parley_call_duration_seconds_bucket{le="1"}'), durations + 1);
});

/** The stored record as GET /api/calls/:id has it for `userId`. */
async function record(userId: string, callId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${srv.httpBase}/api/calls/${encodeURIComponent(callId)}`, {
    headers: { authorization: `Bearer ${await srv.token(userId)}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

const media = (outcome: string) => sample(`parley_calls_media_total{outcome="${outcome}"}`);

test('media reported connected counts once toward the success rate and the connection time', async () => {
  const alice = await srv.connect('km-carol');
  const bob = await srv.connect('km-dave');
  const connected = await media('connected');
  const connects = await sample('parley_call_connect_seconds_count');
  const callId = await call(alice, bob, 'km-dave');
  const at = Date.now();
  await ok(alice, 'call:media', { callId, state: 'connected', at });
  await ok(bob, 'call:media', { callId, state: 'connected' });
  await ok(bob, 'call:hangup', { callId });
  const ended = await alice.next(of('call:record', callId));
  assert.equal(ended.data.record.mediaConnectedAt, new Date(at).toISOString());
  assert.equal(ended.data.record.mediaFailedReason, null);
  assert.equal((await record('km-dave', callId)).mediaConnectedAt, new Date(at).toISOString());
  assert.equal(await media('connected'), connected + 1);
  assert.equal(await sample('parley_call_connect_seconds_count'), connects + 1);
});

test('media reported failed counts toward the error rate; an unreported call is unknown', async () => {
  const alice = await srv.connect('km-erin');
  const bob = await srv.connect('km-frank');
  const [failed, unknown, connected] = [
    await media('failed'),
    await media('unknown'),
    await media('connected'),
  ];
  const broken = await call(alice, bob, 'km-frank');
  await ok(bob, 'call:media', { callId: broken, state: 'failed', reason: 'ice_failed' });
  await ok(alice, 'call:hangup', { callId: broken });
  await bob.next(of('call:record', broken));
  assert.equal((await record('km-erin', broken)).mediaFailedReason, 'ice_failed');
  const silent = await call(alice, bob, 'km-frank');
  await ok(alice, 'call:hangup', { callId: silent });
  await bob.next(of('call:record', silent));
  assert.equal((await record('km-erin', silent)).mediaConnectedAt, null);
  assert.equal(await media('failed'), failed + 1);
  assert.equal(await media('unknown'), unknown + 1);
  assert.equal(await media('connected'), connected);
});

test('only the two devices in the call may report, once it is answered, with a typed error', async () => {
  const alice = await srv.connect('km-gina');
  const bob = await srv.connect('km-hal');
  const bobsOther = await srv.connect('km-hal');
  const stranger = await srv.connect('km-ivy');
  const callId = (await ok(alice, 'call:invite', { callee: 'km-hal', media: 'audio' })).data
    .callId as string;
  await bob.next(of('call:incoming', callId));
  const early = await alice.request('call:media', { callId, state: 'connected' });
  assert.equal(early.error?.code, 'invalid_state', JSON.stringify(early));
  await ok(bob, 'call:accept', { callId });
  for (const who of [bobsOther, stranger]) {
    const r = await who.request('call:media', { callId, state: 'connected' });
    assert.equal(r.error?.code, 'not_in_call', JSON.stringify(r));
  }
  for (const bad of [
    { callId, state: 'up' },
    { callId, state: 'failed' },
    { callId, state: 'failed', reason: 'x'.repeat(129) },
    { callId, state: 'connected', at: -1 },
  ]) {
    const r = await alice.request('call:media', bad);
    assert.equal(r.error?.code, 'bad_request', JSON.stringify(r));
  }
  await ok(alice, 'call:hangup', { callId });
  await bob.next(of('call:record', callId));
  assert.equal((await record('km-gina', callId)).mediaConnectedAt, null);
});
