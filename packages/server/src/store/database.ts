import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Kysely, Migrator, sql, type CompiledQuery } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Database } from './schema.ts';
import { StaticMigrationProvider, type TimeType } from './migrations.ts';
import { OwnSchemaPostgresDialect } from './own-schema-introspector.ts';
import { SqliteProcess } from './sqlite-process.ts';
import { SqliteProcessDialect } from './sqlite-process-dialect.ts';

/** An open database and what kind it is. */
export interface Db {
  kysely: Kysely<Database>;
  kind: 'sqlite' | 'postgres';
  /** Where it lives, for logs (no credentials). */
  where: string;
  /** Runs `stmts` in one transaction (in SQLite, in one trip to its process). */
  writeBatch(stmts: readonly CompiledQuery[]): Promise<void>;
  /** What is wrong with the database's files (SQLite: deleted, replaced), or null. */
  fileProblem(): string | null;
  /** Calls `listener` each time `fileProblem()` changes. */
  onFileProblem(listener: (problem: string | null) => void): void;
}

/** The PostgreSQL application_name of a node's sessions (so that a janitor can find them). */
export const sessionName = (nodeId: string): string => `parley-${nodeId}`;

/** How long a SQLite statement waits for a lock another process holds (in its own process). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** How often the SQLite process checks that its files are still in the data dir. */
const SQLITE_FILE_CHECK_MS = 2000;

/**
 * Opens the store: PostgreSQL when `databaseUrl` is set, else a SQLite file in the data dir
 * (WAL mode, so readers never block the writer) run by a child process of its own (see
 * sqlite-process.ts), so that no statement, however long it waits on a lock or the disk,
 * blocks the event loop. `nodeId` names a node's PostgreSQL sessions.
 */
export function openDatabase(
  { databaseUrl, dataDir }: Pick<Config, 'databaseUrl' | 'dataDir'>,
  nodeId?: string,
): Db {
  if (databaseUrl) {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 10,
      // A server that does not answer (a partition, not a refusal) must not hold the write
      // queue forever: the attempt fails and is retried (every write is an idempotent upsert).
      connectionTimeoutMillis: 5000,
      query_timeout: 30_000,
      ...(nodeId ? { application_name: sessionName(nodeId) } : {}),
    });
    // A session that ends under us (PostgreSQL restarted, or a janitor fenced this node) fails
    // the query it was running, and the pool connects afresh for the next; unhandled, the
    // error event of the pool (idle client) or of the client (checked out) would end the
    // process.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const url = new URL(databaseUrl);
    const kysely = new Kysely<Database>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
    return {
      kysely,
      kind: 'postgres',
      where: `${url.host}${url.pathname}`,
      writeBatch: (stmts) =>
        kysely.transaction().execute(async (trx) => {
          for (const q of stmts) await trx.executeQuery(q);
        }),
      fileProblem: () => null,
      onFileProblem: () => undefined,
    };
  }
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'parley.sqlite');
  const proc = new SqliteProcess({
    file,
    busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
    fileCheckMs: SQLITE_FILE_CHECK_MS,
  });
  const dialect = new SqliteProcessDialect(proc);
  return {
    kysely: new Kysely<Database>({ dialect }),
    kind: 'sqlite',
    where: file,
    writeBatch: (stmts) => dialect.batch(stmts),
    fileProblem: () => proc.fileProblem,
    onFileProblem: (listener) => (proc.onFileProblem = listener),
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
  // Kysely's bookkeeping tables go in our schema, named, rather than wherever the connection's
  // search_path would put them first.
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
  // Kysely looks for its bookkeeping tables by listing tables: in PostgreSQL, of our schema
  // only (OwnSchemaIntrospector), so that another schema's changes cannot fail the listing.
  const { error, results } = await migrator.migrateToLatest();
  if (!error) {
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
  throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
}
