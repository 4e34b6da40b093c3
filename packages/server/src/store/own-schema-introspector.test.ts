import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate, openDatabase } from './database.ts';
import { PG_URL } from './stores.kit.ts';

test('migrations succeed while other schemas on the server are altered and dropped', async () => {
  // Another deployment or a parallel test changing its own schema. Kysely's stock listing of
  // every schema's tables failed on such changes ("column does not exist") in about one
  // listing of seven here, and a migration lists several times.
  const churner = new pg.Client({ connectionString: PG_URL });
  await churner.connect();
  const tag = `parley_churn_${process.pid}`;
  let stop = false;
  let churned = 0;
  const churn = (async () => {
    for (let i = 0; !stop; i++) {
      const s = `${tag}_${i}`;
      await churner.query(
        `create schema ${s}; create table ${s}.t (id serial primary key, a int, b text, c text)`,
      );
      await churner.query(`alter table ${s}.t drop column c`);
      await churner.query(`drop schema ${s} cascade`);
      churned++;
    }
  })();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    for (let i = 0; i < 20; i++) {
      const schema = `parley_migrate_${process.pid}_${i}`;
      await admin.query(`create schema ${schema}`);
      const url = new URL(PG_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const db = openDatabase({ databaseUrl: url.toString(), dataDir: '' });
      try {
        const applied = await migrate(db);
        assert.ok(applied.length > 0, 'every migration applied in a fresh schema');
        // Again: the bookkeeping tables are found, nothing is applied twice.
        assert.deepEqual(await migrate(db), []);
      } finally {
        await db.kysely.destroy();
        await admin.query(`drop schema ${schema} cascade`);
      }
    }
  } finally {
    stop = true;
    await churn;
    await churner.end();
    await admin.end();
  }
  assert.ok(churned >= 20, `the other schemas changed meanwhile (${churned} times)`);
});
