import { Worker } from 'node:worker_threads';
import type {
  Outcome,
  SqliteReply,
  SqliteRequest,
  SqliteWorkerData,
  Statement,
} from './sqlite-protocol.ts';

/** An error from the SQLite thread, with SQLite's code (`SQLITE_BUSY`, `SQLITE_FULL`, ...). */
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

/**
 * The worker thread that owns the SQLite database (sqlite-worker.ts), and the requests waiting
 * on it. Requests are answered in order.
 */
export class SqliteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (o: Outcome) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private dead: Error | null = null;
  /** What is wrong with the database file now (deleted, replaced), or null. */
  fileProblem: string | null = null;
  /** Told each time `fileProblem` changes. */
  onFileProblem: (problem: string | null) => void = () => undefined;

  /**
   * Starts the thread; it opens the database before it answers the first request (a database
   * that cannot be opened fails that request and every later one).
   */
  constructor(data: SqliteWorkerData) {
    // The sources are TypeScript run through tsx, whose loader a worker does not inherit: the
    // thread registers it before it loads its module.
    const entry = new URL('./sqlite-worker.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`;
    this.worker = new Worker(boot, { eval: true, workerData: data });
    this.worker.on('message', (m: SqliteReply) => this.settle(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite thread exited (${code})`)));
  }

  /** Runs one statement. */
  query(stmt: Statement): Promise<Outcome> {
    return this.ask({ kind: 'query', stmt });
  }

  /** Runs `stmts` in one transaction. */
  async batch(stmts: readonly Statement[]): Promise<void> {
    await this.ask({ kind: 'batch', stmts });
  }

  /** Closes the database and ends the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.dead) return;
    await this.ask({ kind: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private ask(req: Ask): Promise<Outcome> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  private settle(m: SqliteReply): void {
    if ('fileProblem' in m) {
      this.fileProblem = m.fileProblem;
      this.onFileProblem(m.fileProblem);
      return;
    }
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if ('error' in m) w.reject(new SqliteError(m.error.message, m.error.code));
    else w.resolve(m);
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
