import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FloodStrikes } from './flood.ts';

test('a flood is the floodStrikes-th refusal within one window', () => {
  const flood = new FloodStrikes({ floodStrikes: 3, floodWindowMs: 1_000 });
  assert.equal(flood.strike(10_000), false);
  assert.equal(flood.strike(10_500), false);
  assert.equal(flood.strike(11_000), true, 'third within the window');
  assert.equal(flood.strike(11_000), true, 'and every one after it');
});

test('refusals spread over windows never add up to a flood', () => {
  const flood = new FloodStrikes({ floodStrikes: 3, floodWindowMs: 1_000 });
  for (let w = 0; w < 10; w++) {
    const start = 10_000 + w * 1_100;
    assert.equal(flood.strike(start), false, `window ${w}, first`);
    assert.equal(flood.strike(start + 900), false, `window ${w}, second`);
  }
});
