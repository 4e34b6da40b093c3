import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { SharedRateLimiter } from './rate.ts';
import { keysFor } from './redis.ts';

/** The shared budget against the real Redis (PARLEY_TEST_REDIS_URL, default the local one). */
const URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `parley-rate-test-${process.pid}`;
let redis: Redis;

before(async () => {
  redis = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
  } catch (err) {
    throw new Error(
      `Redis is needed at ${URL} (start it: redis-server --daemonize yes): ${(err as Error).message}`,
    );
  }
});

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test('one budget per user across nodes: what a node allows alone, two together do not', async () => {
  // rate 1/s, burst 10, sync every second: a 10 s window with an allowance of 10 + 11 = 21.
  let now = 1_000_000_000_000; // a window boundary
  const clock = () => now;
  const one = { perSec: 1, burst: 10 };
  const limits = { setup: one, signal: one, meeting: { perSec: 100, burst: 100 } };
  const log = pino({ level: 'silent' });
  const [a, b] = [0, 1].map(
    () => new SharedRateLimiter(redis, keysFor(prefix), limits, 1000, log, clock),
  ) as [SharedRateLimiter, SharedRateLimiter];
  try {
    for (const node of [a, b]) node.attach('u');
    for (let i = 0; i < 10; i++)
      assert.ok(a.take('u', 'setup') && b.take('u', 'setup'), 'each burst passes');
    await Promise.all([a.sync(), b.sync()]);
    now += 2000; // two tokens refilled on each node
    assert.ok(
      a.take('u', 'setup') && a.take('u', 'setup'),
      'messages 21 and 22 pass where they are counted',
    );
    await a.sync();
    await b.sync();
    assert.equal(
      b.take('u', 'setup'),
      false,
      'the other node refuses: the cluster is over the budget',
    );
    assert.equal(a.take('u', 'setup'), false);
    assert.ok(a.take('u', 'meeting'), 'another class keeps its own cluster budget');
    now += 10_000; // the next window
    assert.ok(b.take('u', 'setup'), 'a new window');
    // Alone on a node, a user never trips the cluster check: the local bucket is stricter.
    a.attach('solo');
    let passed = 0;
    for (let s = 0; s < 30; s++, now += 1000) {
      for (let i = 0; i < 12; i++) if (a.take('solo', 'setup')) passed++;
      await a.sync();
    }
    assert.equal(passed, 10 + 29, 'burst, then one per second, as the local bucket allows');
  } finally {
    a.close();
    b.close();
  }
});
