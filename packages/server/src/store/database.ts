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

/** The PostgreSQL application_name of a node's sessions (so that a janitor can find them). */
export const sessionName = (nodeId: string): string => `parley-${nodeId}`;

/**
 * Opens the store: PostgreSQL when `databaseUrl` is set, else a SQLite file in the data dir
 * (WAL mode, so readers never block the writer). `nodeId` names a node's PostgreSQL sessions.
 */
export function openDatabase(
  { databaseUrl, dataDir }: Pick<Config, 'databaseUrl' | 'dataDir'>,
  nodeId?: string,
): Db {
  if (databaseUrl) {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 10,
      ...(nodeId ? { application_name: sessionName(nodeId) } : {}),
    });
    // A session that ends under us (PostgreSQL restarted, or a janitor fenced this node) fails
    // the query it was running, and the pool connects afresh for the next; unhandled, the
    // error event of the pool (idle client) or of the client (checked out) would end the
    // process.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
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

/**
 * Ends the PostgreSQL sessions of a node taken for dead. A node that only stalled (a long
 * pause, a frozen VM) may hold row locks in an open transaction, which would keep its
 * janitor waiting for as long as it stalls; with its sessions gone, the locks are released
 * and whatever it writes on waking fails. Needs the right to signal those sessions (the same
 * role, or pg_signal_backend); without it the janitor waits, as before, and says so.
 */
export async function endSessionsOf(db: Db, nodeId: string): Promise<number> {
  if (db.kind !== 'postgres') return 0;
  const { rows } = await sql<{ ended: boolean }>`
    select pg_terminate_backend(pid) as ended from pg_stat_activity
    where application_name = ${sessionName(nodeId)} and pid <> pg_backend_pid()`.execute(db.kysely);
  return rows.filter((r) => r.ended).length;
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
