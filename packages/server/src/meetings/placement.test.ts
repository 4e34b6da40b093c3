import { test } from 'node:test';
import assert from 'node:assert/strict';
import { place } from './placement.ts';

const w = (pid: number, consumers: number) => ({
  index: pid,
  pid,
  routers: 1,
  streams: consumers,
  consumers,
});

test('a peer fills the first router whose worker keeps within the budget', () => {
  const workers = [w(1, 5), w(2, 0)];
  assert.deepEqual(place([1], workers, 10, 5, workers[1]!), { router: 0 });
  assert.deepEqual(place([1, 2], [w(1, 9), w(2, 3)], 10, 2, w(2, 3)), { router: 1 });
});

test('a full meeting spreads to a new router on the least loaded worker', () => {
  const workers = [w(1, 9), w(2, 0)];
  assert.deepEqual(place([1], workers, 10, 2, workers[1]!), { newRouterOn: 2 });
});

test('when every worker is full the peer joins the meeting router on the least loaded one', () => {
  const workers = [w(1, 12), w(2, 11)];
  assert.deepEqual(place([1, 2], workers, 10, 2, workers[1]!), { router: 1 });
});

test('a router whose worker is gone is never chosen', () => {
  assert.deepEqual(place([7], [w(2, 0)], 10, 0, w(2, 0)), { newRouterOn: 2 });
});
