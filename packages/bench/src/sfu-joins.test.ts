import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOIN_STEPS, stepMs } from '../page/join-marks.ts';
import { joinFigures, pct, placementOf, stepFigures, type JoinSample } from './sfu-joins.ts';

test('placementOf tells the router, the worker and the node apart', () => {
  const publisher = { node: 'a', routerId: 'r1', workerPid: 10 };
  assert.equal(placementOf({ ...publisher }, publisher), 'same router');
  assert.equal(
    placementOf({ node: 'a', routerId: 'r2', workerPid: 11 }, publisher),
    'other worker',
  );
  assert.equal(
    placementOf({ node: 'a', routerId: 'r2', workerPid: 10 }, publisher),
    'other router of the same worker',
  );
  // Another node's router, whatever its worker's pid (two nodes may share a machine's pids).
  assert.equal(placementOf({ node: 'b', routerId: 'r9', workerPid: 10 }, publisher), 'other node');
});

test('pct is the nearest rank of sorted values', () => {
  const v = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.equal(pct(v, 50), 10);
  assert.equal(pct(v, 95), 19);
  assert.equal(pct(v, 100), 20);
  assert.equal(pct([7], 95), 7);
  assert.ok(Number.isNaN(pct([], 50)));
});

test('joinFigures counts only the joins placed as their case means, in the cases order', () => {
  const s = (c: JoinSample['case'], ms: number, placed = c, piped = c !== 'same router') =>
    ({ case: c, ms, marks: {}, placed, piped }) as JoinSample;
  const figures = joinFigures([
    s('other worker', 300),
    s('same router', 200),
    s('other worker', 500, 'other worker', false),
    // Placed on the publisher's router: it measured "same router", not what it was meant to.
    s('other worker', 9000, 'same router', false),
    s('same router', 100),
  ]);
  assert.deepEqual(figures, [
    { case: 'same router', n: 2, p50: 100, p95: 200, max: 200, asMeant: 2, piped: 0 },
    { case: 'other worker', n: 3, p50: 300, p95: 500, max: 500, asMeant: 2, piped: 1 },
  ]);
  assert.deepEqual(joinFigures([]), []);
});

test('stepMs runs from the latest of its starts, and is NaN without a mark', () => {
  const firstRtp = JOIN_STEPS.find((s) => s.to === 'rtp')!;
  assert.deepEqual(firstRtp.from, ['resumed', 'dtls']);
  assert.equal(stepMs(firstRtp, { resumed: 100, dtls: 130, rtp: 150 }), 20);
  assert.equal(stepMs(firstRtp, { resumed: 140, dtls: 130, rtp: 150 }), 10);
  assert.ok(Number.isNaN(stepMs(firstRtp, { resumed: 100, rtp: 150 })));
});

test('stepFigures gives every step per case, over the joins placed as meant', () => {
  const marks = (start: number, presented: number) => ({ start, signaling: start + 5, presented });
  const join = (c: JoinSample['case'], m: JoinSample['marks'], placed = c) =>
    ({ case: c, ms: 0, marks: m, placed, piped: false }) as JoinSample;
  const [same, ...rest] = stepFigures([
    join('same router', marks(0, 300)),
    join('same router', marks(1000, 1100)),
    join('same router', marks(0, 9000), 'other worker'),
  ]);
  assert.equal(rest.length, 0, 'no other case measured');
  assert.equal(same!.case, 'same router');
  assert.deepEqual(
    same!.steps.map((s) => s.step),
    JOIN_STEPS.map((s) => s.name),
  );
  const total = same!.steps.at(-1)!;
  assert.deepEqual([total.p50, total.p95], [100, 300]);
  assert.deepEqual([same!.steps[0]!.p50, same!.steps[0]!.p95], [5, 5]);
  assert.ok(Number.isNaN(same!.steps[1]!.p50), 'a step no join recorded');
});
