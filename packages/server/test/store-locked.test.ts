import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { of, ok, until, startServer, type TestServer } from './harness.ts';
import { answeredCall, getJson, iceLatency, lockSqlite, sample } from './store-fault-kit.ts';

/**
 * SQLite locked by another process for 20 s: the event loop keeps going (relay latency as usual, calls
 * end on time), the writes wait and are retried, /healthz and the metrics say so, and once the
 * lock is gone every record is written and only then announced.
 */
let srv: TestServer;
before(async () => {
  // Many ICE frames from one user: a rate limit high enough not to get in the way.
  srv = await startServer({ limits: { ratePerSec: 1000, rateBurst: 1000 } });
});
after(() => srv.close());

test('SQLite locked by another process: relay keeps its latency, no record is lost', async () => {
  const alice = await srv.connect('l-alice');
  const bob = await srv.connect('l-bob');
  const carol = await srv.connect('l-carol');
  const callId = await answeredCall(alice, bob, 'l-bob');
  await iceLatency(alice, bob, callId, 0);

  const lock = await lockSqlite(join(srv.app.config.dataDir, 'parley.sqlite'));
  const lockedAt = Date.now();
  let released = false;
  try {
    // A call made and ended while the store is locked.
    const { callId: missed } = (
      await ok(alice, 'call:invite', { callee: 'l-carol', media: 'video' })
    ).data as { callId: string };
    await carol.next(of('call:incoming', missed));
    await ok(alice, 'call:hangup', { callId: missed });
    // Until the store refuses writes (its busy timeout), and after: relaying is not held up.
    const latencies: number[] = [];
    const down = await until('the store is reported down', async () => {
      latencies.push(await iceLatency(alice, bob, callId, latencies.length + 1));
      const h = await getJson(`${srv.httpBase}/healthz`);
      return h.status === 503 ? h.body : undefined;
    });
    // The lock is held for 20 s in all (the case), relaying all along.
    await until(
      'the lock held for 20 s',
      async () => {
        latencies.push(await iceLatency(bob, alice, callId, 100 + latencies.length));
        return Date.now() - lockedAt >= 20_000 ? true : undefined;
      },
      30_000,
    );
    const worst = Math.max(...latencies);
    assert.ok(worst < 500, `relay latency while locked: worst ${worst.toFixed(1)} ms`);
    assert.equal(down.status, 'degraded');
    assert.equal(down.store.up, false);
    assert.match(down.store.reason, /locked|busy/i);
    assert.ok(down.store.pending >= 1, 'the writes are kept');
    const metrics = await (await fetch(`${srv.httpBase}/metrics`)).text();
    assert.equal(sample(metrics, 'parley_store_up'), 0);
    assert.ok(sample(metrics, 'parley_store_pending_writes') >= 1);
    assert.ok(sample(metrics, 'parley_store_write_failures_total') >= 1);

    // The call ends on time: the parties are told without waiting for the store...
    await ok(alice, 'call:hangup', { callId });
    assert.equal((await bob.next(of('call:ended', callId), 2000)).data.reason, 'hangup');
    // ...but no record is announced before it exists.
    assert.equal(alice.frames.find(of('call:record', callId)), undefined);
    assert.equal(alice.frames.find(of('call:record', missed)), undefined);

    await lock.release();
    released = true;
    // Once the lock is gone: the records are written, then announced; history has them.
    const rec = await alice.next(of('call:record', callId), 15_000);
    assert.equal(rec.data.record.reason, 'hangup');
    assert.equal(
      (await carol.next(of('call:record', missed), 15_000)).data.record.reason,
      'cancelled',
    );
    const token = await srv.token('l-alice');
    for (const id of [callId, missed]) {
      const h = await getJson(`${srv.httpBase}/api/calls/${id}`, token);
      assert.equal(h.status, 200, `history has ${id}`);
    }
    const up = await until('the store is reported up', async () => {
      const h = await getJson(`${srv.httpBase}/healthz`);
      return h.status === 200 ? h.body : undefined;
    });
    assert.deepEqual(up.store, { up: true, pending: 0, reason: null });
  } finally {
    if (!released) await lock.release();
  }
});
