import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * The key call metrics of the chat-protobuf spec (监控和日志) as /metrics shows them after real
 * calls over the native dialect: answered calls (the success rate's denominator) and call
 * duration.
 */

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

/** One sample of a metric as /metrics has it (0 when absent). */
async function sample(line: string): Promise<number> {
  const text = await (await fetch(`${srv.httpBase}/metrics`)).text();
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
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
