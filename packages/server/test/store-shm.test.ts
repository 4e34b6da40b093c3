import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { of, ok, until, startServer, type TestServer } from './harness.ts';
import { answeredCall, getJson, sample } from './store-fault-kit.ts';

/**
 * The -shm file truncated under a running node: SQLite, which maps it into memory, gets SIGBUS
 * on its next access. That ends only the node's SQLite process: the node reports it, starts
 * another, and the writes that failed are written by it.
 */
let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

test('the -shm file truncated: the SQLite process dies, the node does not, no record is lost', async () => {
  const alice = await srv.connect('s-alice');
  const bob = await srv.connect('s-bob');
  const first = await answeredCall(alice, bob, 's-bob');
  await ok(alice, 'call:hangup', { callId: first });
  await bob.next(of('call:record', first));

  truncateSync(`${join(srv.app.config.dataDir, 'parley.sqlite')}-shm`, 0);
  const callId = await answeredCall(alice, bob, 's-bob');
  await ok(alice, 'call:hangup', { callId });
  await bob.next(of('call:record', callId), 15_000);
  const metrics = await (await fetch(`${srv.httpBase}/metrics`)).text();
  assert.ok(sample(metrics, 'parley_store_write_failures_total') >= 1, 'the death was seen');
  const token = await srv.token('s-alice');
  for (const id of [first, callId]) {
    assert.equal((await getJson(`${srv.httpBase}/api/calls/${id}`, token)).status, 200);
  }
  await until('the store is reported up', async () =>
    (await getJson(`${srv.httpBase}/healthz`)).status === 200 ? true : undefined,
  );
});
