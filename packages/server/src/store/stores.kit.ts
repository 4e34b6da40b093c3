import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Db } from './database.ts';

/**
 * Every store Parley supports, for repository contract tests. PostgreSQL is the real server
 * on this machine (PARLEY_TEST_DATABASE_URL, default postgres://127.0.0.1:5432/test), each run
 * in a schema of its own so parallel runs never see each other's rows.
 */
export const PG_URL =
  process.env.PARLEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** An opened test store and how to remove it. */
export interface TestStore {
  db: Db;
  cleanup: () => Promise<void>;
}

/** The stores a contract suite runs against, by name. */
export function testStores(tag: string): Array<{ name: string; open: () => Promise<TestStore> }> {
  return [
    {
      name: 'sqlite',
      open: () => {
        const dir = mkdtempSync(join(tmpdir(), `parley-${tag}-`));
        const db = openDatabase({ dataDir: dir });
        return Promise.resolve({
          db,
          cleanup: async () => {
            await db.kysely.destroy();
            rmSync(dir, { recursive: true, force: true });
          },
        });
      },
    },
    {
      name: 'postgres',
      open: async () => {
        const schema = `parley_${tag}_${process.pid}_${Date.now()}`;
        const admin = openDatabase({ databaseUrl: PG_URL, dataDir: '' });
        try {
          await sql.raw(`create schema ${schema}`).execute(admin.kysely);
        } catch (err) {
          throw new Error(
            `PostgreSQL is needed at ${PG_URL} (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): ${(err as Error).message}`,
          );
        } finally {
          await admin.kysely.destroy();
        }
        const url = new URL(PG_URL);
        url.searchParams.set('options', `-c search_path=${schema}`);
        const db = openDatabase({ databaseUrl: url.toString(), dataDir: '' });
        return {
          db,
          cleanup: async () => {
            await sql.raw(`drop schema ${schema} cascade`).execute(db.kysely);
            await db.kysely.destroy();
          },
        };
      },
    },
  ];
}
