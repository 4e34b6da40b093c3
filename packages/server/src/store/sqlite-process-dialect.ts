import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { SqliteProcess } from './sqlite-process.ts';

/** Kysely over the SQLite process: SQLite's SQL, the statements run off the event loop. */
export class SqliteProcessDialect implements Dialect {
  private readonly driver: SqliteProcessDriver;
  constructor(proc: SqliteProcess) {
    this.driver = new SqliteProcessDriver(proc);
  }
  /** Runs `stmts` in one transaction, in one trip to the process. */
  batch(stmts: readonly CompiledQuery[]): Promise<void> {
    return this.driver.batch(stmts);
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return this.driver;
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
}

/**
 * SQLite has one connection: a transaction holds it (a mutex) from its BEGIN to its COMMIT, so
 * that no other statement runs inside it.
 */
class SqliteProcessDriver implements Driver {
  private readonly connection: DatabaseConnection;
  private held: Promise<void> | null = null;
  private release: (() => void) | null = null;

  constructor(private readonly proc: SqliteProcess) {
    this.connection = {
      executeQuery: async <R>(q: CompiledQuery): Promise<QueryResult<R>> => {
        const o = await proc.query({ sql: q.sql, params: q.parameters });
        if ('rows' in o) return { rows: o.rows as R[] };
        return {
          rows: [],
          numAffectedRows: BigInt(o.changes),
          insertId: BigInt(o.lastInsertRowid),
        };
      },
      streamQuery: () => {
        throw new Error('the SQLite process does not stream');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => (this.release = resolve));
    return this.connection;
  }

  releaseConnection(): Promise<void> {
    const release = this.release;
    this.held = null;
    this.release = null;
    release?.();
    return Promise.resolve();
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'));
  }

  /**
   * Runs `stmts` in one transaction in a single trip to the process (the write queue's batch of
   * a tick), holding the connection like any transaction.
   */
  async batch(stmts: readonly CompiledQuery[]): Promise<void> {
    await this.acquireConnection();
    try {
      await this.proc.batch(stmts.map((q) => ({ sql: q.sql, params: q.parameters })));
    } finally {
      await this.releaseConnection();
    }
  }

  async destroy(): Promise<void> {
    await this.proc.close();
  }
}
