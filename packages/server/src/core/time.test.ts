import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameClock, frameHandled, handlingFrame } from './time.ts';

test('frameClock: the frame time while a frame is handled, the wall clock before and after', () => {
  const before = Date.now();
  assert.ok(frameClock() >= before);
  handlingFrame(42);
  try {
    assert.equal(frameClock(), 42);
    assert.equal(frameClock(), 42);
  } finally {
    frameHandled();
  }
  const after = frameClock();
  assert.ok(after >= before && after <= Date.now(), `wall clock again, got ${after}`);
});
