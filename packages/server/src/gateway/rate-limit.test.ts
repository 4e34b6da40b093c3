import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, rateClassOf, type RateBudget, type RateClass } from './rate-limit.ts';

/** The same budget for every class, as the tests of one bucket need. */
const all = (perSec: number, burst: number): Record<RateClass, RateBudget> => ({
  setup: { perSec, burst },
  signal: { perSec, burst },
  meeting: { perSec, burst },
});

test('burst passes, then the sustained rate applies, per user', () => {
  let now = 0;
  const rl = new RateLimiter(all(10, 5), () => now);
  rl.attach('a');
  rl.attach('b');
  const passed = Array.from({ length: 8 }, () => rl.take('a', 'setup')).filter(Boolean).length;
  assert.equal(passed, 5, 'burst of 5');
  assert.equal(rl.take('b', 'setup'), true, 'another user has its own bucket');
  now += 100; // 100 ms at 10/s refills one token
  assert.equal(rl.take('a', 'setup'), true);
  assert.equal(rl.take('a', 'setup'), false);
  now += 10_000;
  assert.equal(
    Array.from({ length: 8 }, () => rl.take('a', 'setup')).filter(Boolean).length,
    5,
    'refill caps at burst',
  );
});

test("buckets are shared by a user's connections and freed with the last one", () => {
  const rl = new RateLimiter(all(10, 2), () => 0);
  rl.attach('a');
  rl.attach('a');
  rl.take('a', 'setup');
  rl.detach('a');
  assert.equal(rl.take('a', 'setup'), true, 'still one token left from the shared bucket');
  assert.equal(rl.take('a', 'setup'), false);
  rl.detach('a');
  assert.equal(rl.take('a', 'signal'), false, 'unknown user is refused');
});

test('each class has its own budget: one exhausted does not starve another', () => {
  const rl = new RateLimiter(
    {
      setup: { perSec: 1, burst: 2 },
      signal: { perSec: 1, burst: 100 },
      meeting: { perSec: 1, burst: 3 },
    },
    () => 0,
  );
  rl.attach('a');
  const count = (cls: RateClass, n: number) =>
    Array.from({ length: n }, () => rl.take('a', cls)).filter(Boolean).length;
  assert.equal(count('meeting', 10), 3, 'meeting burst');
  assert.equal(count('signal', 120), 100, 'signaling passes its own burst after the meeting');
  assert.equal(count('setup', 5), 2, 'setup stays strict');
});

test('messages are classed by what they are', () => {
  assert.equal(rateClassOf('call:invite'), 'setup');
  assert.equal(rateClassOf('rtc:join'), 'setup');
  assert.equal(rateClassOf('call:hangup'), 'setup');
  assert.equal(rateClassOf('call:ice'), 'signal');
  assert.equal(rateClassOf('room:signal'), 'signal');
  assert.equal(rateClassOf('chat:send'), 'signal');
  assert.equal(rateClassOf('rtc:consume'), 'meeting');
  assert.equal(rateClassOf('rtc:resumeConsumer'), 'meeting');
  assert.equal(rateClassOf('nonsense'), 'setup');
});
