import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Database } from './schema.ts';
import { StaticMigrationProvider, type TimeType } from './migrations.ts';

/** An open database and what kind it is. */
export interface Db {
  kysely: Kysely<Database>;
  kind: 'sqlite' | 'postgres';
  /** Where it lives, for logs (no credentials). */
  where: string;
}

/**
 * Opens the store: PostgreSQL when `databaseUrl` is set, else a SQLite file in the data dir
 * (WAL mode, so readers never block the writer).
 */
export function openDatabase({
  databaseUrl,
  dataDir,
}: Pick<Config, 'databaseUrl' | 'dataDir'>): Db {
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    const url = new URL(databaseUrl);
    return {
      kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      kind: 'postgres',
      where: `${url.host}${url.pathname}`,
    };
  }
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'parley.sqlite');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  return {
    kysely: new Kysely<Database>({
      dialect: new SqliteDialect({ database: reusingStatements(sqlite) }),
    }),
    kind: 'sqlite',
    where: file,
  };
}

/**
 * Kysely prepares every query it runs; compiling the same few INSERTs and UPDATEs again for
 * each call was a tenth of a call's server time. This keeps the prepared statements by SQL text
 * (bounded), and never hands out one that a streamed select is still iterating.
 */
function reusingStatements(db: SQLite.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) return cached;
      const stmt = db.prepare(sql);
      if (cache.size >= max) cache.clear();
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/** Brings the schema up to date; returns the names of the migrations it applied. */
export async function migrate(db: Db): Promise<string[]> {
  const time: TimeType = db.kind === 'postgres' ? 'timestamptz' : 'text';
  // Kysely looks for its bookkeeping tables in every schema unless told which: with another
  // schema's on the server (another deployment, a parallel test) it would skip creating ours.
  const schema =
    db.kind === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db.kysely))
          .rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db: db.kysely,
    provider: new StaticMigrationProvider(time),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error)
    throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
