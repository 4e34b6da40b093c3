import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  Outcome,
  SqliteChildData,
  SqliteReply,
  SqliteRequest,
  Statement,
} from './sqlite-protocol.ts';

/** An error from the SQLite process, with SQLite's code (`SQLITE_BUSY`, `SQLITE_FULL`, ...). */
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteError';
  }
}

type Ask = SqliteRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** How long after the SQLite process died it is started again (doubling up to the most). */
const RESPAWN_MS = 200;
const RESPAWN_MAX_MS = 5000;

/**
 * The child process that owns the SQLite database (sqlite-child.ts), and the requests waiting
 * on it, answered in order. A process rather than a worker thread: in WAL mode SQLite maps the
 * -shm file into memory, and a -shm file truncated or unwritable under it raises SIGBUS, which
 * ends the whole process it runs in. In a child that is one lost process: Parley reports it
 * (fileProblem, so /healthz), fails the requests it had (writes are retried), and starts
 * another, which rebuilds the -shm file.
 */
export class SqliteProcess {
  private child!: ChildProcess;
  private readonly waiting = new Map<
    number,
    { resolve: (o: Outcome) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private closed = false;
  private respawnMs = RESPAWN_MS;
  private respawnTimer: NodeJS.Timeout | null = null;
  /** No answer yet from the current process. */
  private fresh = true;
  /** What is wrong with the database or its process now, or null. */
  fileProblem: string | null = null;
  /** Told each time `fileProblem` changes. */
  onFileProblem: (problem: string | null) => void = () => undefined;

  /**
   * Starts the process; it opens the database before it answers the first request (a database
   * that cannot be opened fails that request, and the process is started again).
   */
  constructor(private readonly data: SqliteChildData) {
    this.spawn();
  }

  /** Runs one statement. */
  query(stmt: Statement): Promise<Outcome> {
    return this.ask({ kind: 'query', stmt });
  }

  /** Runs `stmts` in one transaction. */
  async batch(stmts: readonly Statement[]): Promise<void> {
    await this.ask({ kind: 'batch', stmts });
  }

  /** Closes the database and ends the process. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const exited = new Promise((r) => this.child.once('exit', r));
    const bye = this.child.connected ? this.ask({ kind: 'close' }).catch(() => undefined) : null;
    this.closed = true;
    if (bye) await bye;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(kill);
    }
  }

  private spawn(): void {
    // Built (dist/), the child is JavaScript beside this file; run from the TypeScript sources
    // (development, tests) it is TypeScript too and loads tsx first.
    const built = import.meta.url.endsWith('.js');
    const entry = fileURLToPath(new URL(`./sqlite-child.${built ? 'js' : 'ts'}`, import.meta.url));
    const child = fork(entry, [JSON.stringify(this.data)], {
      execArgv: built ? [] : ['--import', import.meta.resolve('tsx')],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.fresh = true;
    // Only a request waiting for its answer keeps Parley running (see hold()).
    child.unref();
    child.channel?.unref();
    child.on('message', (m: SqliteReply) => this.settle(m));
    child.on('error', () => undefined); // followed by 'exit', which reports it
    child.once('exit', (code, signal) => {
      if (this.closed) return;
      const why = signal
        ? `the SQLite process was killed by ${signal}${signal === 'SIGBUS' ? ' (its -shm file was truncated or could not be written)' : ''}`
        : `the SQLite process exited (${code})`;
      this.failAll(new SqliteError(why, 'SQLITE_PROCESS_DIED'));
      this.problem(why);
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        this.spawn();
      }, this.respawnMs);
      this.respawnTimer.unref();
      this.respawnMs = Math.min(RESPAWN_MAX_MS, this.respawnMs * 2);
    });
  }

  private ask(req: Ask): Promise<Outcome> {
    if (this.closed) return Promise.reject(new SqliteError('the store is closed', undefined));
    if (!this.child.connected)
      return Promise.reject(
        new SqliteError(
          this.fileProblem ?? 'the SQLite process is starting',
          'SQLITE_PROCESS_DIED',
        ),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.hold();
      this.child.send({ ...req, id });
    });
  }

  private settle(m: SqliteReply): void {
    if ('fileProblem' in m) {
      this.problem(m.fileProblem);
      return;
    }
    // A new process answers: what the last one reported is over (it reports its own).
    if (this.fresh) {
      this.fresh = false;
      this.respawnMs = RESPAWN_MS;
      this.problem(null);
    }
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    this.hold();
    if ('error' in m) w.reject(new SqliteError(m.error.message, m.error.code));
    else w.resolve(m);
  }

  private problem(p: string | null): void {
    if (p === this.fileProblem) return;
    this.fileProblem = p;
    this.onFileProblem(p);
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /**
   * Keeps the event loop alive while an answer is awaited (`parley migrate` has nothing else
   * to wait on), and not otherwise: a store never closed must not keep a process from ending.
   */
  private hold(): void {
    if (this.waiting.size > 0) this.child.channel?.ref();
    else this.child.channel?.unref();
  }
}
