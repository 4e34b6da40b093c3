import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.ts';

test('burst passes, then the sustained rate applies, per user', () => {
  let now = 0;
  const rl = new RateLimiter(10, 5, () => now);
  rl.attach('a');
  rl.attach('b');
  const passed = Array.from({ length: 8 }, () => rl.take('a')).filter(Boolean).length;
  assert.equal(passed, 5, 'burst of 5');
  assert.equal(rl.take('b'), true, 'another user has its own bucket');
  now += 100; // 100 ms at 10/s refills one token
  assert.equal(rl.take('a'), true);
  assert.equal(rl.take('a'), false);
  now += 10_000;
  assert.equal(
    Array.from({ length: 8 }, () => rl.take('a')).filter(Boolean).length,
    5,
    'refill caps at burst',
  );
});

test("buckets are shared by a user's connections and freed with the last one", () => {
  const rl = new RateLimiter(10, 2, () => 0);
  rl.attach('a');
  rl.attach('a');
  rl.take('a');
  rl.detach('a');
  assert.equal(rl.take('a'), true, 'still one token left from the shared bucket');
  assert.equal(rl.take('a'), false);
  rl.detach('a');
  assert.equal(rl.take('a'), false, 'unknown user is refused');
});
