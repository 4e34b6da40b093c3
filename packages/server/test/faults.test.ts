import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kill9, sigterm } from './faults/scenarios.ts';

/**
 * Short runs of `npm run chaos`'s scenarios (real server processes, real call churn), so the
 * fault drivers keep working and the two process-level faults keep losing nothing.
 */

test('kill -9 mid-call, then a restart: every acknowledged call has its ended record', async () => {
  const f = await kill9({ pairs: 4, faultMs: 0, liveCalls: 0, warmMs: 500 });
  assert.ok(f.inProgress > 0, 'calls were in progress when the node died');
  assert.equal(f.lost, 0, JSON.stringify(f));
  assert.ok((f.reasons.node_restart ?? 0) > 0, JSON.stringify(f.reasons));
});

test('SIGTERM with live calls: each ends as shutdown and its record is there after a restart', async () => {
  const f = await sigterm({ pairs: 0, faultMs: 0, liveCalls: 50, warmMs: 500 });
  assert.equal(f.inProgress, 50);
  assert.equal(f.lost, 0, JSON.stringify(f));
  assert.equal(f.reasons.shutdown, 50, JSON.stringify(f.reasons));
});
