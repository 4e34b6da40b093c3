// The SQLite process (see sqlite-process.ts): owns the better-sqlite3 connection, so that a
// statement waiting on a lock held by another process (busy timeout), or on a slow or full
// disk, never holds up Parley's event loop, and a fault in SQLite's shared memory (SIGBUS)
// ends this process, not Parley.
import { existsSync, statSync, type Stats } from 'node:fs';
import SQLite from 'better-sqlite3';
import type {
  Outcome,
  SqliteChildData,
  SqliteReply,
  SqliteRequest,
  Statement,
} from './sqlite-protocol.ts';

const { file, busyTimeoutMs, fileCheckMs } = JSON.parse(process.argv[2]!) as SqliteChildData;
const send = (m: SqliteReply): void => void process.send!(m);
// Parley gone (even killed): nothing is left to serve.
process.on('disconnect', () => process.exit(0));

let db: SQLite.Database;
let opened: Stats;
/**
 * Kysely prepares every query it runs; compiling the same few INSERTs and UPDATEs again for
 * each call was a tenth of a call's server time. The prepared statements are kept by SQL text
 * (bounded).
 */
const cache = new Map<string, SQLite.Statement>();
let inTransaction: (stmts: readonly Statement[]) => void;

function open(): void {
  db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  opened = statSync(file);
  cache.clear();
  inTransaction = db.transaction((stmts: readonly Statement[]) => {
    for (const s of stmts) run(s);
  });
}

function prepare(sql: string): SQLite.Statement {
  const cached = cache.get(sql);
  if (cached) return cached;
  const stmt = db.prepare(sql);
  if (cache.size >= 256) cache.clear();
  cache.set(sql, stmt);
  return stmt;
}

function run({ sql, params }: Statement): Outcome {
  const stmt = prepare(sql);
  if (stmt.reader) return { rows: stmt.all(params) };
  const { changes, lastInsertRowid } = stmt.run(params);
  return { changes, lastInsertRowid };
}

function answer(req: Exclude<SqliteRequest, { kind: 'close' }>): SqliteReply {
  try {
    switch (req.kind) {
      case 'query':
        return { id: req.id, ...run(req.stmt) };
      case 'batch':
        inTransaction(req.stmts);
        return { id: req.id, rows: [] };
    }
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    return {
      id: req.id,
      error: {
        message: String(e.message),
        code: typeof e.code === 'string' ? e.code : undefined,
      },
    };
  }
}

/**
 * SQLite keeps writing to the files it opened even when they were deleted: every record from
 * then on would vanish at the next start. A deleted database file is written back from the open
 * connection (VACUUM INTO), a deleted -wal or -shm is checkpointed into the database file, and
 * the database reopened; a file replaced by another is only reported (it may be a restore).
 */
function lookAtFiles(): string | null {
  // Reopening would end a transaction Parley has open: look again next time.
  if (db.inTransaction) return problem;
  let now: Stats;
  try {
    now = statSync(file);
  } catch {
    try {
      db.exec(`VACUUM INTO '${file.replaceAll("'", "''")}'`);
      db.close();
      open();
      return null;
    } catch (err) {
      return `the database file ${file} was deleted and could not be written back: ${String(err)}`;
    }
  }
  if (now.ino !== opened.ino || now.dev !== opened.dev)
    return `the database file ${file} was replaced by another file; restart Parley to use it`;
  if (!existsSync(`${file}-wal`) || !existsSync(`${file}-shm`)) {
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      open();
      return null;
    } catch (err) {
      return `the database's -wal or -shm file was deleted and could not be recreated: ${String(err)}`;
    }
  }
  return null;
}

open();
let problem: string | null = null;
const check = setInterval(() => {
  const now = lookAtFiles();
  if (now !== problem) {
    problem = now;
    send({ id: 0, fileProblem: now });
  }
}, fileCheckMs);

process.on('message', (req: SqliteRequest) => {
  if (req.kind === 'close') {
    clearInterval(check);
    db.close();
    send({ id: req.id, rows: [] });
    process.disconnect();
    return;
  }
  send(answer(req));
});
