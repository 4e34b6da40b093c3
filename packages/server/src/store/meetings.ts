import type { MeetingInfo, MeetingParticipant } from '@parley/protocol';
import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { OutboxWriter } from './outbox-writer.ts';
import type { Database, MeetingParticipantsTable, MeetingsTable } from './schema.ts';
import type { WriteQueue } from './write-queue.ts';
import type { MeetingRecords, WebhookEvent } from '../core/index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
/** PostgreSQL gives Dates, SQLite the ISO text it was given. */
const asIso = (v: unknown): string | null =>
  v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : null;

function toMeeting(row: Selectable<MeetingsTable>): MeetingInfo {
  return {
    meetingId: row.meeting_id,
    title: row.title,
    hostId: row.host_id,
    status: row.status === 'ended' ? 'ended' : 'active',
    createdAt: asIso(row.created_at)!,
    endedAt: asIso(row.ended_at),
    endedBy: row.ended_by,
  };
}

function toParticipant(row: Selectable<MeetingParticipantsTable>): MeetingParticipant {
  return {
    meetingId: row.meeting_id,
    userId: row.user_id,
    nickname: row.nickname,
    role: row.role === 'host' ? 'host' : 'participant',
    joinedAt: asIso(row.joined_at)!,
    leftAt: asIso(row.left_at),
  };
}

/** A participant left (or was made to leave) a meeting: the `participant.left` event. */
const leftEvent = (
  meetingId: string,
  userId: string,
  at: number,
  reason: string,
): WebhookEvent => ({
  type: 'participant.left',
  stream: `meeting:${meetingId}`,
  at,
  data: { meetingId, userId, leftAt: iso(at), reason },
});

/**
 * The `meetings` and `meeting_participants` tables (REQ-002), next to the call records. Each
 * change's webhook events (`meeting.*`, `participant.*`) are written in its transaction.
 */
export class MeetingStore implements MeetingRecords {
  /**
   * `queue` carries the writes nobody waits for (a stay closed because its connection dropped),
   * retried until the store takes them; without one they are written at once. `outbox` writes
   * the webhook events (none without it).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue?: WriteQueue,
    private readonly outbox?: OutboxWriter,
  ) {}

  /** Runs `change` and the webhook events it returns in one transaction. */
  private async announce<T>(
    change: (trx: Kysely<Database>) => Promise<{ result: T; events: WebhookEvent[] }>,
  ): Promise<T> {
    const outbox = this.outbox;
    if (!outbox) return (await change(this.db)).result;
    let wrote = false;
    const result = await this.db.transaction().execute(async (trx) => {
      const { result, events } = await change(trx);
      await outbox.write(trx, events);
      wrote = events.length > 0;
      return result;
    });
    if (wrote) outbox.committed();
    return result;
  }

  /** Inserts a new active meeting. */
  async create(m: {
    meetingId: string;
    title: string | null;
    hostId: string;
    at: number;
  }): Promise<MeetingInfo> {
    const row = {
      meeting_id: m.meetingId,
      title: m.title,
      host_id: m.hostId,
      status: 'active',
      created_at: iso(m.at),
      ended_at: null,
      ended_by: null,
    };
    return this.announce(async (db) => {
      await db.insertInto('meetings').values(row).execute();
      const meeting = toMeeting({ id: 0, ...row });
      const { meetingId, title, hostId, createdAt } = meeting;
      return {
        result: meeting,
        events: [
          {
            type: 'meeting.started',
            stream: `meeting:${m.meetingId}`,
            at: m.at,
            data: { meetingId, title, hostId, createdAt },
          },
        ],
      };
    });
  }

  /** How many meetings `hostId` hosts that have not ended (for the per-user cap). */
  async liveHostedBy(hostId: string): Promise<number> {
    const row = await this.db
      .selectFrom('meetings')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('host_id', '=', hostId)
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The meeting, or undefined. */
  async get(meetingId: string): Promise<MeetingInfo | undefined> {
    const row = await this.db
      .selectFrom('meetings')
      .selectAll()
      .where('meeting_id', '=', meetingId)
      .executeTakeFirst();
    return row && toMeeting(row);
  }

  /** Everyone in the meeting now (open stays), in joining order. */
  async participants(meetingId: string): Promise<MeetingParticipant[]> {
    const rows = await this.db
      .selectFrom('meeting_participants')
      .selectAll()
      .where('meeting_id', '=', meetingId)
      .where('left_at', 'is', null)
      .orderBy('joined_at')
      .orderBy('id')
      .execute();
    return rows.map(toParticipant);
  }

  /** The active meetings with their people, a page at a time (see MeetingRecords). */
  async live(limit: number, after = 0) {
    const rows = await this.db
      .selectFrom('meetings')
      .selectAll()
      .where('status', '=', 'active')
      .where('id', '>', after)
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r.meeting_id);
    const stays =
      ids.length === 0
        ? []
        : await this.db
            .selectFrom('meeting_participants')
            .selectAll()
            .where('meeting_id', 'in', ids)
            .where('left_at', 'is', null)
            .orderBy('joined_at')
            .orderBy('id')
            .execute();
    return {
      meetings: page.map((r) => ({
        ...toMeeting(r),
        participants: stays.filter((p) => p.meeting_id === r.meeting_id).map(toParticipant),
      })),
      next: rows.length > limit ? page[page.length - 1]!.id : null,
    };
  }

  /** The user's open stay in the meeting, or undefined when the user is not in it. */
  async participation(meetingId: string, userId: string): Promise<MeetingParticipant | undefined> {
    const row = await this.db
      .selectFrom('meeting_participants')
      .selectAll()
      .where('meeting_id', '=', meetingId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .executeTakeFirst();
    return row && toParticipant(row);
  }

  /** Opens a stay; a user already in the meeting keeps the stay it has (idempotent join). */
  async join(p: {
    meetingId: string;
    userId: string;
    nickname: string;
    role: MeetingParticipant['role'];
    at: number;
  }): Promise<MeetingParticipant> {
    const open = await this.participation(p.meetingId, p.userId);
    if (open) return open;
    const row = {
      meeting_id: p.meetingId,
      user_id: p.userId,
      nickname: p.nickname,
      role: p.role,
      joined_at: iso(p.at),
      left_at: null,
    };
    const joined = toParticipant({ id: 0, ...row });
    try {
      await this.announce(async (db) => {
        await db.insertInto('meeting_participants').values(row).execute();
        return {
          result: undefined,
          events: [
            {
              type: 'participant.joined',
              stream: `meeting:${p.meetingId}`,
              at: p.at,
              data: { ...joined },
            },
          ],
        };
      });
    } catch (err) {
      // A concurrent join of the same user won the unique open-stay index.
      const winner = await this.participation(p.meetingId, p.userId);
      if (winner) return winner;
      throw err;
    }
    return joined;
  }

  /** Closes the user's open stay; false when there was none. */
  leave(meetingId: string, userId: string, at: number): Promise<boolean> {
    return this.announce(async (db) => {
      const closed = await db
        .updateTable('meeting_participants')
        .set({ left_at: iso(at) })
        .where('meeting_id', '=', meetingId)
        .where('user_id', '=', userId)
        .where('left_at', 'is', null)
        .returning('id')
        .execute();
      return {
        result: closed.length > 0,
        events: closed.length > 0 ? [leftEvent(meetingId, userId, at, 'left')] : [],
      };
    });
  }

  /**
   * Closes every open stay, at `at` or its join if that is later: a single node starting
   * again after it was killed serves no one yet, so every stay still open was left by the
   * previous run. Returns how many it closed.
   */
  closeOpenStays(at: number): Promise<number> {
    const when = iso(at);
    return this.announce(async (db) => {
      const closed = await db
        .updateTable('meeting_participants')
        .set((eb) => ({
          left_at: eb
            .case()
            .when('joined_at', '>', when)
            .then(eb.ref('joined_at'))
            .else(when)
            .end(),
        }))
        .where('left_at', 'is', null)
        .returning(['meeting_id', 'user_id', 'left_at'])
        .execute();
      return {
        result: closed.length,
        events: closed.map((r) =>
          leftEvent(r.meeting_id, r.user_id, Date.parse(asIso(r.left_at)!), 'node_restart'),
        ),
      };
    });
  }

  /**
   * Closes the user's open stay when nobody waits for the answer (the connection dropped):
   * queued and retried, so that a store that is slow or down holds up no meeting and loses
   * no stay's end.
   */
  left(meetingId: string, userId: string, at: number): Promise<void> {
    if (!this.queue) return this.leave(meetingId, userId, at).then(() => undefined);
    const open = this.db
      .selectFrom('meeting_participants')
      .select('id')
      .where('meeting_id', '=', meetingId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null);
    // The event is written (first) only if the stay is still open when the group runs.
    const event =
      this.outbox?.statementsIf(
        leftEvent(meetingId, userId, at, 'disconnected'),
        open.$call((q) => sql<SqlBool>`exists ${q}`),
      ) ?? [];
    const close = this.db
      .updateTable('meeting_participants')
      .set({ left_at: iso(at) })
      .where('meeting_id', '=', meetingId)
      .where('user_id', '=', userId)
      .where('left_at', 'is', null)
      .compile();
    if (event.length === 0) return this.queue.write(close);
    return this.queue.writeGroup([...event, close]).then(() => this.outbox?.committed());
  }

  /** Ends an active meeting and closes every open stay; false when it had already ended. */
  async end(meetingId: string, endedBy: string, at: number): Promise<boolean> {
    const change = async (trx: Kysely<Database>) => {
      const r = await trx
        .updateTable('meetings')
        .set({ status: 'ended', ended_at: iso(at), ended_by: endedBy })
        .where('meeting_id', '=', meetingId)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return { result: false, events: [] };
      const closed = await trx
        .updateTable('meeting_participants')
        .set({ left_at: iso(at) })
        .where('meeting_id', '=', meetingId)
        .where('left_at', 'is', null)
        .returning('user_id')
        .execute();
      const events: WebhookEvent[] = closed.map((p) =>
        leftEvent(meetingId, p.user_id, at, 'meeting_ended'),
      );
      events.push({
        type: 'meeting.ended',
        stream: `meeting:${meetingId}`,
        at,
        data: { meetingId, endedBy, endedAt: iso(at) },
      });
      return { result: true, events };
    };
    // Without an outbox, still one transaction: the meeting and its stays end together.
    if (this.outbox) return this.announce(change);
    return this.db.transaction().execute(async (trx) => (await change(trx)).result);
  }
}
