/** One statement and its parameters, as it crosses to the SQLite process. */
export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/** What Parley asks of the SQLite process. */
export type SqliteRequest =
  | { id: number; kind: 'query'; stmt: Statement }
  /** Statements run in one transaction: all of them commit, or none. */
  | { id: number; kind: 'batch'; stmts: readonly Statement[] }
  | { id: number; kind: 'close' };

/** A failed request: SQLite's message and its extended code (`SQLITE_BUSY`, `SQLITE_FULL`, ...). */
export interface SqliteFailure {
  message: string;
  code: string | undefined;
}

/** What one statement gave: the rows of a read, or what a write changed. */
export type Outcome = { rows: unknown[] } | { changes: number; lastInsertRowid: number | bigint };

/** The SQLite process's answers. */
export type SqliteReply =
  | ({ id: number } & Outcome)
  | { id: number; error: SqliteFailure }
  /** Unasked: what the periodic look at the database file found (null: all is well). */
  | { id: 0; fileProblem: string | null };

/** What the SQLite process is started with. */
export interface SqliteChildData {
  file: string;
  busyTimeoutMs: number;
  /** How often the process checks that the file at `file` is still the one it has open. */
  fileCheckMs: number;
}
