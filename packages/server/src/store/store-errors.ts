import { AppError } from '@parley/protocol';

/**
 * The typed error a client gets for `err`: an AppError as it is; a store failure that retrying
 * outlives (locked, down, disk full) as `unavailable`, so that a request made while the store
 * is away is answered "try again", not `internal`; anything else as `internal` (a bug).
 */
export function asAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STORE_CODE.test(code) && !isPermanent(err)) {
    return AppError.storeUnavailable();
  }
  return AppError.internal();
}

/**
 * Codes of a store's failures: SQLite's (and the SQLite process's), PostgreSQL's SQLSTATE, and
 * the socket errors of a database server that is down or unreachable.
 */
const STORE_CODE =
  /^(SQLITE_\w+|[0-9A-Z]{5}|STORE_BACKLOG_FULL|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/;

/**
 * Whether a failed write can never succeed as it is (the data or the statement is wrong),
 * rather than failed because of the store's state (locked, down, disk full, file trouble),
 * which retrying outlives. What is not known to be permanent is taken for transient: a write
 * is kept rather than lost.
 */
export function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // SQLite: a constraint, a value of the wrong type or size, a bad parameter.
  if (/^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code)) return true;
  // PostgreSQL SQLSTATE: data exception (a NUL in text, too long), integrity, syntax.
  return /^(22|23|42)[0-9A-Z]{3}$/.test(code);
}
