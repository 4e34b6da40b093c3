import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './harness.ts';
import { createSchema } from './cluster-harness.ts';
import { startMeetingServer } from './meeting-kit.ts';
import { directedCases } from './fuzz/directed.ts';
import { fuzz, mb } from './fuzz/run.ts';
import { FUZZ_SERVER } from './fuzz/server.ts';

/**
 * The short seeded fuzz run of `npm test` (npm run fuzz runs the long one): 2,000 frames over
 * every dialect plus REST requests against a node on PostgreSQL (the store that refuses what
 * SQLite takes, e.g. NUL bytes), then the directed cases. No crash, no `internal`, every request
 * answered by its id, no undocumented close, the heap back at its baseline.
 */

const SEED = 20261202;

describe('fuzz', () => {
  let srv: TestServer;
  let schema: Awaited<ReturnType<typeof createSchema>>;

  before(async () => {
    schema = await createSchema();
    srv = await startMeetingServer(
      { ...FUZZ_SERVER.config, databaseUrl: schema.url },
      FUZZ_SERVER.sfu,
    );
  });
  after(async () => {
    await srv.close();
    await schema.drop();
  });

  test(`2,000 seeded frames over every dialect and REST (seed ${SEED})`, async () => {
    const r = await fuzz(srv, { seed: SEED, frames: 2000, heapToleranceBytes: 12 * 2 ** 20 });
    const found = r.violations.map((v) => `${v.kind}: ${v.detail}`).join('\n');
    assert.equal(r.violations.length, 0, `seed ${SEED}:\n${found}`);
    assert.equal(r.stats.answered + r.stats.cutByClose, r.stats.expected);
    assert.ok(r.stats.expected > 500, `only ${r.stats.expected} requests carried an id`);
    assert.ok(r.heap.after <= r.heap.baseline + 12 * 2 ** 20, `${mb(r.heap.after)} after`);
  });

  for (const c of directedCases) {
    test(c.name, async () => {
      const crashes: unknown[] = [];
      const crashed = (err: unknown) => crashes.push(err);
      process.on('unhandledRejection', crashed);
      try {
        await c.run(srv);
        // A rejection from a handler surfaces a tick or two after the answer.
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('unhandledRejection', crashed);
      }
      assert.deepEqual(crashes.map(String), []);
    });
  }
});
