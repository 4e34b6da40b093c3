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

test("an open-loop trial counts the page faults the server's process takes in its window", async () => {
  await withParley(async (wsBase, mint) => {
    // The server runs in this process here, so this process's faults are the server's.
    const target = parleyTarget(wsBase, mint, process.pid);
    const pairs = await target.open(2, 'pf', 'lean');
    try {
      await prime(target, pairs);
      // Inside the window the process touches 32 MB it never had: 8,192 pages to fault in.
      let touched: Buffer | undefined;
      const touch = setTimeout(() => (touched = Buffer.alloc(32 << 20).fill(1)), 1500);
      const r = await runOpenLoop(target, pairs, {
        ratePerSide: 10,
        seconds: 2,
        warmupSeconds: 1,
        drainMs: 2000,
      });
      clearTimeout(touch);
      assert.ok(touched, 'the buffer was touched inside the window');
      assert.ok((r.serverFaults ?? 0) >= 4096, `${r.serverFaults} page faults`);
    } finally {
      await target.close(pairs);
    }
  });
});
