import { CompiledQuery } from 'kysely';
import type { Db } from './database.ts';
import type { Statement } from './sqlite-protocol.ts';
import { isPermanent } from './store-errors.ts';
import type { WriteJournal } from './write-journal.ts';
import type { WriteStatus } from '../core/index.ts';

/** Statements that commit together or not at all (a change and the webhook events it makes). */
interface Pending {
  qs: readonly CompiledQuery[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const statement = (q: CompiledQuery): Statement => ({ sql: q.sql, params: q.parameters });
const group = (p: Pending): Statement[] => p.qs.map(statement);

/** What the queue reports as it goes (metrics, logs). */
export interface WriteQueueEvents {
  /** A transaction failed; its writes are kept and retried. `first`: the store was up. */
  retrying?(err: unknown, pending: number, first: boolean): void;
  /** The store took the writes again after failing. */
  recovered?(downMs: number): void;
  /** A write was refused: it can never succeed (`permanent`) or the backlog is full. */
  dropped?(err: unknown, why: 'permanent' | 'backlog_full'): void;
}

/** Options of a WriteQueue. */
export interface WriteQueueOptions {
  /** Writes kept while the store refuses them; beyond it a write is refused at once. */
  maxPending: number;
  /**
   * Statements per transaction (a long backlog is written in pieces of this size; a group is
   * never split).
   */
  maxBatch?: number;
  /** First and longest wait between attempts while the store fails. */
  retryMinMs?: number;
  retryMaxMs?: number;
  events?: WriteQueueEvents;
  /** Where writes the store refuses are also kept, to outlive the process. */
  journal?: WriteJournal;
}

/** The error of a write refused because `maxPending` writes are already waiting. */
export class BacklogFullError extends Error {
  readonly code = 'STORE_BACKLOG_FULL';
  constructor(max: number) {
    super(`the store is not taking writes and ${max} are already waiting`);
    this.name = 'BacklogFullError';
  }
}

/**
 * Groups writes issued in the same tick into one transaction: calls at a thousand a second then
 * cost one commit per tick instead of three per call. Writes stay in issue order, and a write
 * the store refuses for a while (locked, down, disk full) is kept and retried with backoff, in
 * order, until it is taken: its promise resolves only then. Only a write that can never succeed
 * (bad data) or one beyond `maxPending` is refused. From the first refusal until the backlog
 * is written, every pending write is also appended to the journal (if any), which the next
 * start replays: a node killed meanwhile loses none.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs = 0;
  private downSince: number | null = null;
  private reason: string | null = null;
  private readonly maxBatch: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  /** Whether pending writes go to the journal (from a refusal until the backlog is empty). */
  private journaling = false;
  private journalBuf: Statement[][] = [];
  private journalPump: Promise<void> | null = null;
  /** Closed: no more attempts (what is pending is in the journal). */
  private stopped = false;

  constructor(
    private readonly db: Pick<Db, 'writeBatch'>,
    private readonly o: WriteQueueOptions,
  ) {
    this.maxBatch = o.maxBatch ?? 500;
    this.retryMinMs = o.retryMinMs ?? 50;
    this.retryMaxMs = o.retryMaxMs ?? 2000;
  }

  /** Queues `q`; resolves once the transaction that carries it has committed. */
  write(q: CompiledQuery): Promise<void> {
    return this.writeGroup([q]);
  }

  /**
   * Queues statements that must commit in one transaction, all or none (also when replayed
   * from the journal); resolves once it has committed.
   */
  writeGroup(qs: readonly CompiledQuery[]): Promise<void> {
    if (this.pending.length >= this.o.maxPending) {
      const err = new BacklogFullError(this.o.maxPending);
      this.o.events?.dropped?.(err, 'backlog_full');
      return Promise.reject(err);
    }
    if (this.journaling) this.toJournal([qs.map(statement)]);
    return new Promise((resolve, reject) => {
      this.pending.push({ qs, resolve, reject });
      if (this.pending.length === 1 && !this.flushing && !this.retryTimer)
        setImmediate(() => void this.flush());
    });
  }

  /** How writes are going. */
  status(): WriteStatus {
    return {
      up: this.downSince === null,
      pending: this.pending.length,
      reason: this.reason,
      downSince: this.downSince,
    };
  }

  /**
   * Replays the journal of an earlier run (the writes its store had not taken when it stopped)
   * and waits until the store has taken them. Returns how many there were.
   */
  async recover(): Promise<number> {
    const groups = (await this.o.journal?.load()) ?? [];
    if (groups.length === 0) return 0;
    this.journaling = true;
    const done = groups.map(
      (g) =>
        new Promise<void>((resolve, reject) =>
          this.pending.push({
            qs: g.map((s) => CompiledQuery.raw(s.sql, [...s.params])),
            resolve,
            reject,
          }),
        ),
    );
    await this.drain();
    await Promise.allSettled(done);
    return groups.length;
  }

  /**
   * Stops: waits up to `ms` for the store to take what is pending, then makes sure whatever it
   * has not taken is in the journal.
   */
  async close(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drain(), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.pending.length > 0 && !this.journaling) {
      this.journaling = true;
      this.toJournal(this.pending.map(group));
    }
    await this.journalPump;
    await this.o.journal?.close();
  }

  /** Resolves when everything queued so far is written (retrying as long as it takes). */
  async drain(): Promise<void> {
    while (!this.stopped && (this.flushing || this.pending.length > 0)) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        await new Promise((r) => setTimeout(r, this.backoffMs));
      }
      await (this.flushing ?? this.flush());
    }
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0 || this.stopped) return Promise.resolve();
    this.flushing = this.run().finally(() => {
      this.flushing = null;
      if (this.pending.length === 0 || this.retryTimer) return;
      void this.flush();
    });
    return this.flushing;
  }

  /** The groups of the next transaction: up to `maxBatch` statements, at least one group. */
  private head(): Pending[] {
    let n = 0;
    let end = 0;
    while (end < this.pending.length) {
      n += this.pending[end]!.qs.length;
      if (end > 0 && n > this.maxBatch) break;
      end++;
    }
    return this.pending.slice(0, end);
  }

  /** Writes the head of the queue; on a transient failure keeps it and schedules a retry. */
  private async run(): Promise<void> {
    const batch = this.head();
    try {
      await this.db.writeBatch(batch.flatMap((p) => p.qs));
      this.taken(batch.length);
      return;
    } catch (err) {
      if (!isPermanent(err)) return this.failed(err);
    }
    // A write that can never succeed must not hold the others back: find it, one at a time.
    for (const p of batch) {
      try {
        await this.db.writeBatch(p.qs);
        this.taken(1);
      } catch (err) {
        if (!isPermanent(err)) return this.failed(err);
        this.pending.shift();
        this.o.events?.dropped?.(err, 'permanent');
        p.reject(err);
      }
    }
  }

  private taken(n: number): void {
    for (const p of this.pending.splice(0, n)) p.resolve();
    const journal = this.o.journal;
    if (this.journaling && journal) {
      if (this.pending.length === 0) {
        // Everything journaled is in the store: the journal has served.
        this.journaling = false;
        this.journalBuf = [];
        void journal.clear();
      } else if (journal.size > 2 * this.pending.length + 10_000) {
        // Most of the journal is in the store by now: keep it to what is still pending.
        this.journalBuf = [];
        void journal.rewrite(this.pending.map(group));
      }
    }
    if (this.downSince !== null) {
      this.o.events?.recovered?.(Date.now() - this.downSince);
      this.downSince = null;
      this.reason = null;
    }
    this.backoffMs = 0;
  }

  private failed(err: unknown): void {
    if (!this.journaling && this.o.journal) {
      this.journaling = true;
      this.toJournal(this.pending.map(group));
    }
    const first = this.downSince === null;
    this.downSince ??= Date.now();
    this.reason = err instanceof Error ? err.message : String(err);
    this.backoffMs = Math.min(
      this.retryMaxMs,
      this.backoffMs ? this.backoffMs * 2 : this.retryMinMs,
    );
    this.o.events?.retrying?.(err, this.pending.length, first);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, this.backoffMs);
  }

  /** Appends to the journal, one append (and fsync) at a time, each taking all that waits. */
  private toJournal(groups: Statement[][]): void {
    const journal = this.o.journal;
    if (!journal) return;
    this.journalBuf.push(...groups);
    this.journalPump ??= (async () => {
      while (this.journalBuf.length > 0) {
        const batch = this.journalBuf;
        this.journalBuf = [];
        await journal.append(batch);
      }
      this.journalPump = null;
    })();
  }
}
