import { randomBytes } from 'node:crypto';
import { sql, type CompiledQuery, type Expression, type Kysely, type SqlBool } from 'kysely';
import { compiledOnce } from './compiled-once.ts';
import type { Database } from './schema.ts';
import type { WebhookEvent, WebhookEventType } from '../core/index.ts';

/** An endpoint as the outbox sees it: its name and the events it wants (null: all). */
export interface OutboxEndpoint {
  name: string;
  events: ReadonlySet<WebhookEventType> | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A Standard Webhooks message id, the same for every endpoint and attempt. */
const newMsgId = (): string => `msg_${randomBytes(16).toString('hex')}`;

/**
 * Builds the statements that put an event into the outbox, one row per endpoint that wants
 * it, for the store to run in the transaction of the change the event announces (so that an
 * event exists if and only if its change committed). The message id is fixed when the
 * statement is built, so that a write replayed from the journal inserts nothing twice.
 *
 * In PostgreSQL each such transaction first takes a lock on the event's stream (a call, a
 * meeting, a user), held to its commit: ids are handed out at insert, not at commit, and
 * without it a later event of the stream could commit, and be sent, before an earlier one.
 */
export class OutboxWriter {
  private readonly listeners: Array<() => void> = [];
  /** One endpoint's row, compiled once (an event is written with every call's transition). */
  private readonly insert: (row: Row) => CompiledQuery;
  private readonly lockStream: (v: { stream: string }) => CompiledQuery;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: 'sqlite' | 'postgres',
    private readonly endpoints: readonly OutboxEndpoint[],
  ) {
    this.insert = compiledOnce<Row>(ROW, (row) =>
      db
        .insertInto('webhook_outbox')
        .values(row)
        .onConflict((oc) => oc.columns(['endpoint', 'msg_id']).doNothing()),
    );
    this.lockStream = compiledOnce<{ stream: string }>(['stream'], (v) => ({
      compile: () => sql`select pg_advisory_xact_lock(hashtext(${v.stream}))`.compile(db),
    }));
  }

  /** Whether any endpoint wants events of `type` (no statement, no cost, when none does). */
  wants(type: WebhookEventType): boolean {
    return this.endpoints.some((e) => e.events === null || e.events.has(type));
  }

  /** The statements that write `e` (none when no endpoint wants it). */
  statements(e: WebhookEvent): CompiledQuery[] {
    const to = this.endpoints.filter((p) => p.events === null || p.events.has(e.type));
    if (to.length === 0) return [];
    const msgId = newMsgId();
    const payload = body(e);
    const at = iso(e.at);
    const inserts = to.map((p) =>
      this.insert({
        endpoint: p.name,
        msg_id: msgId,
        type: e.type,
        stream: e.stream,
        payload,
        created_at: at,
        status: 'pending',
        attempts: 0,
        next_at: at,
      }),
    );
    return [...this.lock(e.stream), ...inserts];
  }

  /**
   * The statements that write `e` only if `exists` finds a row when they run (for a write
   * queued before the state it depends on is known, such as a stay that may already be closed).
   */
  statementsIf(e: WebhookEvent, exists: Expression<SqlBool>): CompiledQuery[] {
    const to = this.endpoints.filter((p) => p.events === null || p.events.has(e.type));
    if (to.length === 0) return [];
    const msgId = newMsgId();
    const payload = body(e);
    const at = sql`cast(${iso(e.at)} as ${sql.raw(this.kind === 'postgres' ? 'timestamptz' : 'text')})`;
    const inserts = to.map((p) =>
      sql`insert into webhook_outbox
            (endpoint, msg_id, type, stream, payload, created_at, status, attempts, next_at)
          select ${p.name}, ${msgId}, ${e.type}, ${e.stream}, ${payload}, ${at}, 'pending', 0, ${at}
          where ${exists}
          on conflict (endpoint, msg_id) do nothing`.compile(this.db),
    );
    return [...this.lock(e.stream), ...inserts];
  }

  /** Runs the statements of `events` in `trx` (a transaction the caller holds). */
  async write(trx: Kysely<Database>, events: readonly WebhookEvent[]): Promise<void> {
    for (const e of events) for (const q of this.statements(e)) await trx.executeQuery(q);
  }

  /** Tells the deliverers that events were committed (they need not wait for their poll). */
  committed(): void {
    for (const l of this.listeners) l();
  }

  onCommitted(listener: () => void): void {
    this.listeners.push(listener);
  }

  private lock(stream: string): CompiledQuery[] {
    if (this.kind !== 'postgres') return [];
    return [this.lockStream({ stream })];
  }
}

/** A new outbox row. */
interface Row {
  endpoint: string;
  msg_id: string;
  type: string;
  stream: string;
  payload: string;
  created_at: string;
  status: string;
  attempts: number;
  next_at: string;
}
const ROW: Array<keyof Row> = [
  'endpoint',
  'msg_id',
  'type',
  'stream',
  'payload',
  'created_at',
  'status',
  'attempts',
  'next_at',
];

/** The body: `{"type", "timestamp" (ISO), "data"}`. */
function body(e: WebhookEvent): string {
  return JSON.stringify({ type: e.type, timestamp: iso(e.at), data: e.data });
}
