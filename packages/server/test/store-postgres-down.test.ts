import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from './cluster-harness.ts';
import { of, ok, until, startServer, type TestServer } from './harness.ts';
import {
  answeredCall,
  getJson,
  iceLatency,
  privatePostgres,
  type PrivatePostgres,
} from './store-fault-kit.ts';

/**
 * PostgreSQL stopped under a node (a private cluster this test starts): calls keep working,
 * their records wait and are retried, /healthz says so, and once PostgreSQL is back every call
 * made meanwhile has its row and its record event.
 */
let pg: PrivatePostgres;
let srv: TestServer;
before(async () => {
  pg = await privatePostgres(await freePort());
  srv = await startServer({ databaseUrl: pg.url });
});
after(async () => {
  await srv?.close();
  await pg?.remove();
});

test('PostgreSQL stopped for a while: calls made meanwhile have their rows after it returns', async () => {
  const alice = await srv.connect('p-alice');
  const bob = await srv.connect('p-bob');
  await pg.stop();
  let stopped = true;
  try {
    const calls: string[] = [];
    for (let i = 0; i < 5; i++) {
      const callId = await answeredCall(alice, bob, 'p-bob');
      assert.ok((await iceLatency(alice, bob, callId, i)) < 500);
      await ok(alice, 'call:hangup', { callId });
      assert.equal((await bob.next(of('call:ended', callId), 2000)).data.reason, 'hangup');
      calls.push(callId);
    }
    const down = await until('the store is reported down', async () => {
      const h = await getJson(`${srv.httpBase}/healthz`);
      return h.status === 503 ? h.body : undefined;
    });
    assert.equal(down.store.up, false);
    // A request that needs the store meanwhile is told to try again (503), not `internal`.
    const create = await fetch(`${srv.httpBase}/api/meetings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await srv.token('p-alice')}` },
      body: '{}',
    });
    assert.equal(create.status, 503);
    assert.deepEqual(await create.json(), {
      code: 50301,
      message: 'the store is unavailable; try again shortly',
      error: 'unavailable',
    });
    assert.ok(down.store.pending >= 1);
    assert.equal(
      alice.frames.find((f) => f.type === 'call:record'),
      undefined,
      'none announced',
    );

    await pg.start();
    stopped = false;
    const token = await srv.token('p-alice');
    for (const callId of calls) {
      const rec = await alice.next(of('call:record', callId), 15_000);
      assert.equal(rec.data.record.reason, 'hangup');
      const h = await getJson(`${srv.httpBase}/api/calls/${callId}`, token);
      assert.equal(h.status, 200, `history has ${callId}`);
      assert.equal(h.body.data.status, 'completed');
    }
    await until('the store is reported up', async () =>
      (await getJson(`${srv.httpBase}/healthz`)).status === 200 ? true : undefined,
    );
  } finally {
    if (stopped) await pg.start();
  }
});
