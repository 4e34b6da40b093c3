import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { of, ok, until, startServer, type TestServer } from './harness.ts';
import { answeredCall, getJson } from './store-fault-kit.ts';

/**
 * The SQLite files taken from under a running node. Deleted: the node writes the database back
 * from its open connection and carries on, so nothing vanishes at the next start. Replaced by
 * another file: the node says so (/healthz 503 with the reason, an error log line).
 */
let srv: TestServer;
let file: string;
before(async () => {
  srv = await startServer();
  file = join(srv.app.config.dataDir, 'parley.sqlite');
});
after(() => srv.close());

/** A call from invite to its record event; returns its id. */
async function recordedCall(tag: string): Promise<string> {
  const alice = await srv.connect(`${tag}-alice`);
  const bob = await srv.connect(`${tag}-bob`);
  const callId = await answeredCall(alice, bob, `${tag}-bob`);
  await ok(alice, 'call:hangup', { callId });
  await bob.next(of('call:record', callId));
  alice.close();
  bob.close();
  return callId;
}

/** The call ids in the database file at `path`, read by another connection. */
function callIdsIn(path: string): string[] {
  const db = new SQLite(path, { readonly: true });
  try {
    return (db.prepare('select call_id from call_records').all() as Array<{ call_id: string }>).map(
      (r) => r.call_id,
    );
  } finally {
    db.close();
  }
}

test('the database file and its -wal and -shm deleted: written back, no record lost', async () => {
  const before = await recordedCall('d1');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`);
  await until('the database file is back', () => (existsSync(file) ? true : undefined));
  const afterwards = await recordedCall('d2');
  // Another connection (the next start) sees every record, from before and after.
  await until('both records in the file', () => {
    const ids = callIdsIn(file);
    return ids.includes(before) && ids.includes(afterwards) ? true : undefined;
  });
  assert.equal((await getJson(`${srv.httpBase}/healthz`)).status, 200);
});

test('the database file replaced by another: not ready, with the reason', async () => {
  const other = `${file}.other`;
  copyFileSync(file, other);
  renameSync(other, file);
  const h = await until('the replacement is reported', async () => {
    const r = await getJson(`${srv.httpBase}/healthz`);
    return r.status === 503 ? r.body : undefined;
  });
  assert.equal(h.store.up, false);
  assert.match(h.store.reason, /replaced/);
});
