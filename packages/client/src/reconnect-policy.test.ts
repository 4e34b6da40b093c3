import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultReconnectPolicy } from './reconnect-policy.ts';

const at = (p: DefaultReconnectPolicy, retryCount: number, elapsedMs = 0) =>
  p.nextRetryDelayInMs({ retryCount, elapsedMs, reason: 'test' });

test('first retry at once, then exponential backoff up to the cap', () => {
  const p = new DefaultReconnectPolicy({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0 });
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 9].map((n) => at(p, n)),
    [0, 100, 200, 400, 800, 1_000, 1_000],
  );
});

test('jitter adds up to jitterMs to every retry but the first', () => {
  const high = new DefaultReconnectPolicy({ baseDelayMs: 100, jitterMs: 500, random: () => 0.999 });
  const low = new DefaultReconnectPolicy({ baseDelayMs: 100, jitterMs: 500, random: () => 0 });
  assert.equal(at(high, 0), 0);
  assert.equal(at(high, 1), 600);
  assert.equal(at(low, 1), 100);
  const real = new DefaultReconnectPolicy();
  for (let i = 0; i < 50; i++) {
    const d = at(real, 2)!;
    assert.ok(d >= 600 && d <= 1_100, String(d));
  }
});

test('gives up once the connection has been gone for maxElapsedMs', () => {
  const p = new DefaultReconnectPolicy({ maxElapsedMs: 10_000 });
  assert.notEqual(at(p, 3, 9_999), null);
  assert.equal(at(p, 3, 10_000), null);
});
