import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, loadConfig } from '@parley/server';
import { prime, runOpenLoop } from './open-loop.ts';
import { parleyTarget } from './relay.ts';

test('an open-loop trial through a real Parley charges a load-generator stall to latency and reports it', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-open-loop-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'open-loop-test-secret-0123456789' },
    { server: { port: 0 }, dataDir },
  );
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  try {
    const { port } = await app.listen();
    const target = parleyTarget(`ws://127.0.0.1:${port}`, (user) => app.auth.mint(user));
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
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
