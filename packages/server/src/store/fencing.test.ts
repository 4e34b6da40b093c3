import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { endSessionsOf, openDatabase } from './database.ts';
import { PG_URL } from './stores.kit.ts';

/** A janitor ends a stalled node's PostgreSQL sessions, so its open transactions let go. */

test("endSessionsOf ends only the named node's sessions; the node's pool survives and reconnects", async () => {
  const node = `fence${randomBytes(4).toString('hex')}`;
  const stalled = openDatabase({ databaseUrl: PG_URL, dataDir: '' }, node);
  const bystander = openDatabase({ databaseUrl: PG_URL, dataDir: '' }, `${node}x`);
  const janitor = openDatabase({ databaseUrl: PG_URL, dataDir: '' }, 'janitor');
  try {
    // The stalled node sits in an open transaction; the bystander has a session too.
    const open = stalled.kysely
      .transaction()
      .execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await new Promise((r) => setTimeout(r, 1500));
      })
      .then(
        () => 'committed',
        () => 'failed',
      );
    await sql`select 1`.execute(bystander.kysely);
    await new Promise((r) => setTimeout(r, 100));

    assert.equal(await endSessionsOf(janitor, node), 1);
    assert.equal(await open, 'failed', 'the open transaction is gone');
    // The bystander's session is untouched; the stalled node's pool connects afresh.
    await sql`select 1`.execute(bystander.kysely);
    await sql`select 1`.execute(stalled.kysely);
  } finally {
    await Promise.all([stalled, bystander, janitor].map((d) => d.kysely.destroy()));
  }
});

test('endSessionsOf is a no-op on SQLite (one process, nothing to fence)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-fence-'));
  const db = openDatabase({ dataDir: dir }, 'n1');
  try {
    assert.equal(await endSessionsOf(db, 'n1'), 0);
  } finally {
    await db.kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
