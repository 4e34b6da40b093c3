import type { CallRecord, EndReason, Media } from '@parley/protocol';
import {
  sql,
  type CompiledQuery,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Updateable,
} from 'kysely';
import { compiledOnce } from './compiled-once.ts';
import type { Db } from './database.ts';
import type { OutboxWriter } from './outbox-writer.ts';
import type { CallRecordsTable, Database } from './schema.ts';
import { WriteQueue } from './write-queue.ts';
import type {
  CallEnd,
  CallHistory,
  CallRecordWriter,
  CallStart,
  RecordPage,
  WebhookEvent,
  WriteStatus,
} from '../core/index.ts';

/** A call the janitor ended for a dead node: the record and what the row held. */
export interface AbandonedCall {
  record: CallRecord;
  start: CallStart;
  end: CallEnd;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const asIso = (v: unknown): string | null =>
  v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : null;

/** The row of a call that has just started (status 0). */
function newRow(c: CallStart) {
  const at = iso(c.createdAt);
  return {
    call_id: c.callId,
    caller_id: c.caller,
    callee_id: c.callee,
    call_type: c.media === 'audio' ? 1 : 2,
    status: 0,
    duration: 0,
    created_at: at,
    updated_at: at,
    media: c.media,
    caller_device: c.callerDevice,
    owner_node: c.ownerNode,
  };
}

// The named values of the three statements compiled once (see CallRecordStore).
/** A value for each column in `C`. */
type Values<C extends ReadonlyArray<keyof CallRecordsTable>> = Required<
  Pick<Updateable<CallRecordsTable>, C[number]>
>;
type NewRow = ReturnType<typeof newRow>;
const NEW_ROW = Object.keys(
  newRow({
    callId: '',
    caller: '',
    callerDevice: '',
    callee: '',
    media: 'audio',
    createdAt: 0,
    ownerNode: '',
  }),
) as Array<keyof NewRow>;

// The columns each transition sets; the row's other columns come with it, so that every write
// is an upsert of the whole row: a write retried, or one whose earlier ones were lost, still
// leaves the row complete.
const ACCEPTED = [
  'status',
  'start_time',
  'updated_at',
  'answered_device',
  'answered_client_type',
] as const satisfies ReadonlyArray<keyof CallRecordsTable>;
type Accepted = NewRow & Values<typeof ACCEPTED>;

const MEDIA = ['media_connected_at', 'media_failed_reason'] as const satisfies ReadonlyArray<
  keyof CallRecordsTable
>;
type MediaReport = NewRow & Values<typeof ACCEPTED> & Values<typeof MEDIA>;

const ENDED = [
  ...ACCEPTED,
  ...MEDIA,
  'end_time',
  'duration',
  'end_reason',
  'ring_ms',
] as const satisfies ReadonlyArray<keyof CallRecordsTable>;
type Ended = NewRow & Values<typeof ENDED>;

/** Spec status: 0 = invite, 1 = accept, 2 = reject, 3 = hangup. */
export function specStatus(reason: EndReason | null, accepted: boolean): number {
  if (reason === null) return accepted ? 1 : 0;
  if (accepted) return 3;
  return reason === 'rejected' || reason === 'busy' ? 2 : 0;
}

/** The outcome clients see in the record event and the history API. */
export function outcome(reason: EndReason, accepted: boolean): CallRecord['status'] {
  if (accepted) return 'completed';
  switch (reason) {
    case 'rejected':
    case 'busy':
    case 'cancelled':
      return reason;
    case 'no_answer':
    case 'offline':
      return 'missed';
    default:
      return 'failed';
  }
}

function toRecord(row: Selectable<CallRecordsTable>): CallRecord {
  const reason = (row.end_reason ?? 'failed') as EndReason;
  const startedAt = asIso(row.start_time);
  return {
    callId: row.call_id,
    caller: row.caller_id,
    callee: row.callee_id,
    media: row.media as Media,
    status: row.end_reason === null ? 'failed' : outcome(reason, startedAt !== null),
    reason,
    createdAt: asIso(row.created_at)!,
    startedAt,
    endedAt: asIso(row.end_time) ?? asIso(row.updated_at)!,
    duration: Number(row.duration),
    ringMs: Number(row.ring_ms ?? 0),
    answeredBy: row.answered_device
      ? { deviceId: row.answered_device, clientType: row.answered_client_type ?? 'unknown' }
      : null,
    mediaConnectedAt: asIso(row.media_connected_at),
    mediaFailedReason: row.media_failed_reason,
  };
}

/** What a webhook event about a call says of it. */
const callData = (c: CallStart) => ({
  callId: c.callId,
  caller: c.caller,
  callee: c.callee,
  media: c.media,
});

/**
 * The call detail records. A row exists from the invite on and is updated at each transition,
 * so a call whose node dies can be finalised by another. Writes go through a WriteQueue: one
 * the store refuses for a while is retried until it is taken. Each transition's webhook event
 * (`call.ringing`, `call.accepted`, `call.ended`) is written in the same transaction as the
 * row (and journaled with it).
 */
export class CallRecordStore implements CallRecordWriter, CallHistory {
  private readonly queue: WriteQueue;
  private readonly db: Kysely<Database>;
  /** The three writes of every call, compiled once. */
  private readonly insert: (row: NewRow) => CompiledQuery;
  private readonly accept: (v: Accepted) => CompiledQuery;
  private readonly report: (v: MediaReport) => CompiledQuery;
  private readonly end: (v: Ended) => CompiledQuery;

  /**
   * `queue` carries the writes (shared with the meetings' records); default: one of its own.
   * `outbox` writes the webhook events (none without it).
   */
  constructor(
    store: Db,
    queue = new WriteQueue(store, { maxPending: 100_000 }),
    private readonly outbox?: OutboxWriter,
  ) {
    const db = (this.db = store.kysely);
    this.queue = queue;
    this.insert = compiledOnce(NEW_ROW, (row) =>
      db
        .insertInto('call_records')
        .values(row)
        .onConflict((oc) => oc.column('call_id').doNothing()),
    );
    // `onlyLive`: the answer must not undo an end (a journal replayed after both were written).
    const upsert = <V extends Accepted>(
      columns: ReadonlyArray<keyof V & string>,
      onlyLive: boolean,
    ) =>
      compiledOnce<V>([...NEW_ROW, ...columns] as Array<keyof V & string>, (row) =>
        db
          .insertInto('call_records')
          .values(row)
          .onConflict((oc) => {
            const set = oc
              .column('call_id')
              .doUpdateSet((eb) =>
                Object.fromEntries(
                  columns.map((c) => [c, eb.ref(`excluded.${c}` as 'excluded.status')]),
                ),
              );
            return onlyLive ? set.where('call_records.end_time', 'is', null) : set;
          }),
      );
    this.accept = upsert<Accepted>(ACCEPTED, true);
    this.report = upsert<MediaReport>([...ACCEPTED, ...MEDIA], true);
    this.end = upsert<Ended>(ENDED, false);
  }

  /** Writes `q` and, in its transaction, the statements of its webhook event. */
  private write(q: CompiledQuery, events: CompiledQuery[] = []): Promise<void> {
    if (events.length === 0) return this.queue.write(q);
    return this.queue.writeGroup([q, ...events]).then(() => this.outbox?.committed());
  }

  private events(e: WebhookEvent): CompiledQuery[] {
    return this.outbox?.statements(e) ?? [];
  }

  /** Inserts the row for a new call (status 0). */
  created(c: CallStart): Promise<void> {
    const outbox = this.outbox;
    // Announced only by the write that inserts the row (not by one that finds it there).
    const ringing =
      outbox?.wants('call.ringing') === true
        ? outbox.statementsIf(
            {
              type: 'call.ringing',
              stream: `call:${c.callId}`,
              at: c.createdAt,
              data: {
                ...callData(c),
                callerDevice: c.callerDevice,
                createdAt: iso(c.createdAt),
              },
            },
            this.db
              .selectFrom('call_records')
              .select('call_id')
              .where('call_id', '=', c.callId)
              .$call((q) => sql<SqlBool>`not exists ${q}`),
          )
        : [];
    if (ringing.length === 0) return this.queue.write(this.insert(newRow(c)));
    return this.queue
      .writeGroup([...ringing, this.insert(newRow(c))])
      .then(() => this.outbox?.committed());
  }

  /** Marks the call answered (status 1). */
  accepted(start: CallStart, at: number, device: string, clientType: string): Promise<void> {
    return this.write(
      this.accept({
        ...newRow(start),
        status: 1,
        start_time: iso(at),
        updated_at: iso(at),
        answered_device: device,
        answered_client_type: clientType,
      }),
      this.events({
        type: 'call.accepted',
        stream: `call:${start.callId}`,
        at,
        data: {
          ...callData(start),
          acceptedAt: iso(at),
          answeredBy: { deviceId: device, clientType },
        },
      }),
    );
  }

  /**
   * Stores what the parties reported of the media of an answered call (the whole row as at
   * its answer, so that it is complete even if the answer's write was lost).
   */
  media(
    start: CallStart,
    answer: { at: number; device: string; clientType: string },
    report: { connectedAt: number | null; failedReason: string | null },
  ): Promise<void> {
    return this.queue.write(
      this.report({
        ...newRow(start),
        status: 1,
        start_time: iso(answer.at),
        updated_at: iso(answer.at),
        answered_device: answer.device,
        answered_client_type: answer.clientType,
        media_connected_at: report.connectedAt === null ? null : iso(report.connectedAt),
        media_failed_reason: report.failedReason,
      }),
    );
  }

  /**
   * Writes the end of a call and returns the record as clients receive it, once the row is in
   * the store (however long the store takes).
   */
  async ended(start: CallStart, e: CallEnd): Promise<CallRecord> {
    const accepted = e.acceptedAt !== null;
    const duration = accepted ? Math.round((e.endedAt - e.acceptedAt!) / 1000) : 0;
    const record: CallRecord = {
      callId: start.callId,
      caller: start.caller,
      callee: start.callee,
      media: start.media,
      status: outcome(e.reason, accepted),
      reason: e.reason,
      createdAt: iso(start.createdAt),
      startedAt: accepted ? iso(e.acceptedAt!) : null,
      endedAt: iso(e.endedAt),
      duration,
      ringMs: e.ringMs,
      answeredBy: e.answeredDevice
        ? { deviceId: e.answeredDevice, clientType: e.answeredClientType ?? 'unknown' }
        : null,
      mediaConnectedAt: e.mediaConnectedAt === null ? null : iso(e.mediaConnectedAt),
      mediaFailedReason: e.mediaFailedReason,
    };
    await this.write(
      this.end({
        ...newRow(start),
        status: specStatus(e.reason, accepted),
        start_time: accepted ? iso(e.acceptedAt!) : null,
        end_time: iso(e.endedAt),
        updated_at: iso(e.endedAt),
        duration,
        end_reason: e.reason,
        ring_ms: e.ringMs,
        answered_device: e.answeredDevice,
        answered_client_type: e.answeredClientType,
        media_connected_at: e.mediaConnectedAt === null ? null : iso(e.mediaConnectedAt),
        media_failed_reason: e.mediaFailedReason,
      }),
      // The record exactly as GET /api/calls/:callId returns it from this row.
      this.events({
        type: 'call.ended',
        stream: `call:${start.callId}`,
        at: e.endedAt,
        data: { callId: start.callId, record },
      }),
    );
    return record;
  }

  /**
   * Ends every call still live on `ownerNode` (a node that died) with `reason`, and returns
   * them: the janitor of another node tells their parties. `known` are calls the node had
   * announced elsewhere (the cluster's call index): one whose row the node did not live to
   * commit gets it now, so that it is ended and recorded like the others.
   */
  async abandon(
    ownerNode: string,
    reason: EndReason,
    at: number,
    known: readonly CallStart[] = [],
  ): Promise<AbandonedCall[]> {
    await Promise.all(known.map((c) => this.created(c)));
    const rows = await this.db
      .selectFrom('call_records')
      .selectAll()
      .where('owner_node', '=', ownerNode)
      .where('end_time', 'is', null)
      .execute();
    const out: AbandonedCall[] = [];
    for (const row of rows) {
      const created = Date.parse(asIso(row.created_at)!);
      const started = asIso(row.start_time);
      const acceptedAt = started ? Date.parse(started) : null;
      const media = asIso(row.media_connected_at);
      const start: CallStart = {
        callId: row.call_id,
        caller: row.caller_id,
        callerDevice: row.caller_device,
        callee: row.callee_id,
        media: row.media as Media,
        createdAt: created,
        ownerNode,
      };
      // Never before the row's last write (a node's last sign of life may be older).
      const endedAt = Math.max(at, Date.parse(asIso(row.updated_at)!));
      const end: CallEnd = {
        callId: row.call_id,
        reason,
        acceptedAt,
        endedAt,
        ringMs: (acceptedAt ?? endedAt) - created,
        answeredDevice: row.answered_device,
        answeredClientType: row.answered_client_type,
        mediaConnectedAt: media === null ? null : Date.parse(media),
        mediaFailedReason: row.media_failed_reason,
      };
      out.push({ record: await this.ended(start, end), start, end });
    }
    return out;
  }

  /** The nodes that own calls not ended in the store. */
  async unendedOwners(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('call_records')
      .select('owner_node')
      .distinct()
      .where('end_time', 'is', null)
      .execute();
    return rows.map((r) => r.owner_node);
  }

  /** One user's finished calls, newest first. `cursor` is the `next` of the previous page. */
  async list(userId: string, limit: number, cursor?: string): Promise<RecordPage> {
    let q = this.db
      .selectFrom('call_records')
      .selectAll()
      .where((eb) => eb.or([eb('caller_id', '=', userId), eb('callee_id', '=', userId)]))
      .where('end_time', 'is not', null)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    const before = cursor ? Number(cursor) : NaN;
    if (Number.isSafeInteger(before)) q = q.where('id', '<', before);
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    return {
      records: page.map(toRecord),
      next: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    };
  }

  /** One call, only if `userId` was a party. */
  async get(callId: string, userId: string): Promise<CallRecord | undefined> {
    const row = await this.db
      .selectFrom('call_records')
      .selectAll()
      .where('call_id', '=', callId)
      .where((eb) => eb.or([eb('caller_id', '=', userId), eb('callee_id', '=', userId)]))
      .executeTakeFirst();
    return row && row.end_time !== null ? toRecord(row) : undefined;
  }

  /** Writes what an earlier run journaled and its store did not take (start-up). */
  recover(): Promise<number> {
    return this.queue.recover();
  }

  /** Stops: up to `ms` for the store to take what is pending, the rest into the journal. */
  close(ms: number): Promise<void> {
    return this.queue.close(ms);
  }

  /** How writes are going (health, metrics). */
  writeStatus(): WriteStatus {
    return this.queue.status();
  }
}
