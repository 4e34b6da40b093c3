import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, WebhookOutboxTable } from './schema.ts';
import type { DeadLetter, OutboxDepth, OutboxEntry, WebhookOutbox } from '../core/index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
/** PostgreSQL gives Dates, SQLite the ISO text it was given. */
const asIso = (v: unknown): string | null =>
  v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : null;
const clip = (s: string): string => (s.length > 300 ? s.slice(0, 297) + '...' : s);

function toEntry(r: Selectable<WebhookOutboxTable>): OutboxEntry {
  return {
    id: Number(r.id),
    endpoint: r.endpoint,
    msgId: r.msg_id,
    type: r.type,
    stream: r.stream,
    payload: r.payload,
    createdAt: Date.parse(asIso(r.created_at)!),
    attempts: r.attempts,
  };
}

/** The webhook outbox as the deliverers and the admin API use it. */
export class OutboxStore implements WebhookOutbox {
  constructor(private readonly db: Kysely<Database>) {}

  async due(endpoint: string, now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.db
      .selectFrom('webhook_outbox as o')
      .selectAll()
      .where('o.endpoint', '=', endpoint)
      .where('o.status', '=', 'pending')
      .where('o.next_at', '<=', iso(now))
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_outbox as p')
              .select(sql.lit(1).as('one'))
              .whereRef('p.endpoint', '=', 'o.endpoint')
              .whereRef('p.stream', '=', 'o.stream')
              .where('p.status', '=', 'pending')
              .whereRef('p.id', '<', 'o.id'),
          ),
        ),
      )
      .orderBy('o.id')
      .limit(limit)
      .execute();
    return rows.map(toEntry);
  }

  async sent(ids: readonly number[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('webhook_outbox')
      .set((eb) => ({
        status: 'sent',
        done_at: iso(at),
        attempts: eb('attempts', '+', 1),
        last_error: null,
      }))
      .where('id', 'in', [...ids])
      .where('status', '=', 'pending')
      .execute();
  }

  async retry(id: number, attempts: number, nextAt: number, error: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ attempts, next_at: iso(nextAt), last_error: clip(error) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  async dead(id: number, attempts: number, at: number, error: string): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ status: 'dead', attempts, done_at: iso(at), last_error: clip(error) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  async deadLetters(o: {
    endpoint?: string;
    afterId?: number;
    limit: number;
  }): Promise<DeadLetter[]> {
    let q = this.db
      .selectFrom('webhook_outbox')
      .selectAll()
      .where('status', '=', 'dead')
      .orderBy('id')
      .limit(o.limit);
    if (o.endpoint !== undefined) q = q.where('endpoint', '=', o.endpoint);
    if (o.afterId !== undefined) q = q.where('id', '>', o.afterId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      endpoint: r.endpoint,
      msgId: r.msg_id,
      type: r.type,
      createdAt: asIso(r.created_at)!,
      attempts: r.attempts,
      lastError: r.last_error,
      deadAt: asIso(r.done_at),
      payload: r.payload,
    }));
  }

  async replay(o: { endpoint?: string; ids?: readonly number[]; now: number }): Promise<number> {
    if (o.ids?.length === 0) return 0;
    let q = this.db
      .updateTable('webhook_outbox')
      .set({ status: 'pending', attempts: 0, next_at: iso(o.now), done_at: null })
      .where('status', '=', 'dead');
    if (o.endpoint !== undefined) q = q.where('endpoint', '=', o.endpoint);
    if (o.ids) q = q.where('id', 'in', [...o.ids]);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async depth(endpoint: string): Promise<OutboxDepth> {
    const row = await this.db
      .selectFrom('webhook_outbox')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('n'),
        eb.fn.min('created_at').as('oldest'),
      ])
      .where('endpoint', '=', endpoint)
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    const oldest = asIso(row.oldest);
    return { pending: Number(row.n), oldest: oldest === null ? null : Date.parse(oldest) };
  }

  async prune(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('webhook_outbox')
      .where('status', '=', 'sent')
      .where('done_at', '<', iso(before))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
