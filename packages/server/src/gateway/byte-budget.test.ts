import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteBudget } from './byte-budget.ts';

test('a burst passes, the next frame waits for the refill, a refused frame takes nothing', () => {
  let now = 0;
  const budget = new ByteBudget(1000, 2000, () => now);
  assert.equal(budget.take(1500), true);
  assert.equal(budget.take(600), false, 'only 500 left');
  assert.equal(budget.take(500), true, 'the refused frame took nothing');
  now += 1000;
  assert.equal(budget.take(1000), true, 'one second refills 1000');
  assert.equal(budget.take(1), false);
  now += 60_000;
  assert.equal(budget.take(2000), true, 'the refill stops at the burst');
  assert.equal(budget.take(1), false);
});
