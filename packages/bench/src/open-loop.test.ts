import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prime, runOpenLoop } from './open-loop.ts';
import { withParley } from './parley.kit.ts';
import { parleyTarget } from './relay.ts';

test('an open-loop trial through a real Parley charges a load-generator stall to latency and reports it', async () => {
  await withParley(async (wsBase, mint) => {
    const target = parleyTarget(wsBase, mint);
    const pairs = await target.open(4, 'ol', 'lean');
    try {
      await prime(target, pairs);
      // Half-way through the 2 s window this process (the load generator) blocks for 120 ms:
      // the messages due meanwhile go out late, and their latency must say so. (A timer fires
      // late on a busy machine, never early; the window leaves it a second of slack.)
      const stall = setTimeout(() => {
        const until = performance.now() + 120;
        while (performance.now() < until);
      }, 2000);
      const r = await runOpenLoop(target, pairs, {
        ratePerSide: 20,
        seconds: 2,
        warmupSeconds: 1,
        drainMs: 2000,
      });
      clearTimeout(stall);
      assert.equal(r.lost, 0);
      assert.equal(r.unexpected, 0);
      assert.equal(r.sent, 4 * 2 * 20 * 2);
      assert.ok(r.loadGenStallMs >= 100, `stall ${r.loadGenStallMs} ms`);
      assert.ok(r.latency.max >= 100, `max latency ${r.latency.max} ms`);
    } finally {
      await target.close(pairs);
    }
  });
});
