import type { CallRecord, EndReason, Media } from '@parley/protocol';
import type { CompiledQuery, Kysely, Selectable, Updateable } from 'kysely';
import { compiledOnce } from './compiled-once.ts';
import type { CallRecordsTable, Database } from './schema.ts';
import { WriteQueue } from './write-queue.ts';

/** What the engine hands the store when a call starts. */
export interface CallStart {
  callId: string;
  caller: string;
  callerDevice: string;
  callee: string;
  media: Media;
  createdAt: number;
  ownerNode: string;
}

/** What the engine hands the store when a call ends. */
export interface CallEnd {
  callId: string;
  reason: EndReason;
  acceptedAt: number | null;
  endedAt: number;
  ringMs: number;
  answeredDevice: string | null;
  answeredClientType: string | null;
}

/** A call the janitor ended for a dead node: the record and what the row held. */
export interface AbandonedCall {
  record: CallRecord;
  start: CallStart;
  end: CallEnd;
}

/** A page of history, newest first; `next` is the cursor for the following page. */
export interface RecordPage {
  records: CallRecord[];
  next: string | null;
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

const ACCEPTED = [
  'call_id',
  'status',
  'start_time',
  'updated_at',
  'answered_device',
  'answered_client_type',
] as const satisfies ReadonlyArray<keyof CallRecordsTable>;
type Accepted = Values<typeof ACCEPTED>;

const ENDED = [
  ...ACCEPTED,
  'end_time',
  'duration',
  'end_reason',
  'ring_ms',
] as const satisfies ReadonlyArray<keyof CallRecordsTable>;
type Ended = Values<typeof ENDED>;

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
  };
}

/**
 * The call detail records. A row exists from the invite on and is updated at each transition,
 * so a call whose node dies can be finalised by another.
 */
export class CallRecordStore {
  private readonly queue: WriteQueue;
  /** The three writes of every call, compiled once. */
  private readonly insert: (row: NewRow) => CompiledQuery;
  private readonly accept: (v: Accepted) => CompiledQuery;
  private readonly end: (v: Ended) => CompiledQuery;

  constructor(private readonly db: Kysely<Database>) {
    this.queue = new WriteQueue(db);
    this.insert = compiledOnce(NEW_ROW, (row) => db.insertInto('call_records').values(row));
    const update = <V extends Accepted>(columns: ReadonlyArray<keyof V & string>) =>
      compiledOnce<V>(columns, ({ call_id, ...set }) =>
        db.updateTable('call_records').set(set).where('call_id', '=', call_id),
      );
    this.accept = update<Accepted>(ACCEPTED);
    this.end = update<Ended>(ENDED);
  }

  /** Inserts the row for a new call (status 0). */
  created(c: CallStart): Promise<void> {
    const q = this.insert(newRow(c));
    return this.queue.write((trx) => trx.executeQuery(q));
  }

  /** Marks the call answered (status 1). */
  accepted(callId: string, at: number, device: string, clientType: string): Promise<void> {
    const q = this.accept({
      call_id: callId,
      status: 1,
      start_time: iso(at),
      updated_at: iso(at),
      answered_device: device,
      answered_client_type: clientType,
    });
    return this.queue.write((trx) => trx.executeQuery(q));
  }

  /** Writes the end of a call and returns the record as clients receive it. */
  async ended(start: CallStart, e: CallEnd): Promise<CallRecord> {
    const accepted = e.acceptedAt !== null;
    const duration = accepted ? Math.round((e.endedAt - e.acceptedAt!) / 1000) : 0;
    const q = this.end({
      call_id: start.callId,
      status: specStatus(e.reason, accepted),
      start_time: accepted ? iso(e.acceptedAt!) : null,
      end_time: iso(e.endedAt),
      updated_at: iso(e.endedAt),
      duration,
      end_reason: e.reason,
      ring_ms: e.ringMs,
      answered_device: e.answeredDevice,
      answered_client_type: e.answeredClientType,
    });
    await this.queue.write((trx) => trx.executeQuery(q));
    return {
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
    };
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
    if (known.length > 0) {
      await this.queue.write((trx) =>
        trx
          .insertInto('call_records')
          .values(known.map(newRow))
          .onConflict((oc) => oc.column('call_id').doNothing())
          .execute(),
      );
    }
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
      const start: CallStart = {
        callId: row.call_id,
        caller: row.caller_id,
        callerDevice: row.caller_device,
        callee: row.callee_id,
        media: row.media as Media,
        createdAt: created,
        ownerNode,
      };
      const end: CallEnd = {
        callId: row.call_id,
        reason,
        acceptedAt,
        endedAt: Math.max(at, created),
        ringMs: (acceptedAt ?? Math.max(at, created)) - created,
        answeredDevice: row.answered_device,
        answeredClientType: row.answered_client_type,
      };
      out.push({ record: await this.ended(start, end), start, end });
    }
    return out;
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

  /** Waits for queued writes (shutdown). */
  drain(): Promise<void> {
    return this.queue.drain();
  }
}
