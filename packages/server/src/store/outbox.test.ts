import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStart } from '../core/index.ts';
import { testStores } from './stores.kit.ts';
import { WriteQueue } from './write-queue.ts';
import {
  CallRecordStore,
  MeetingStore,
  migrate,
  OutboxStore,
  OutboxWriter,
  type Db,
} from './index.ts';

/**
 * The webhook outbox on every store: each change writes its events in its own transaction,
 * a change that does not commit writes none, and the deliverers' view (due, retry, dead,
 * replay) keeps each stream in order.
 */
const stores = testStores('outbox');
const T0 = Date.UTC(2026, 1, 26, 16, 0, 0);
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const start = (callId: string): CallStart => ({
  callId,
  caller: 'alice',
  callerDevice: 'dev-a',
  callee: 'bob',
  media: 'video',
  createdAt: T0,
  ownerNode: 'n1',
});

for (const s of stores) {
  describe(`webhook outbox on ${s.name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let outbox: OutboxStore;
    let writer: OutboxWriter;
    let records: CallRecordStore;
    let meetings: MeetingStore;
    let commits = 0;

    /** The events written for `stream`, in outbox order, for endpoint `hook`. */
    const events = async (stream: string, endpoint = 'hook') =>
      (
        await db.kysely
          .selectFrom('webhook_outbox')
          .selectAll()
          .where('stream', '=', stream)
          .where('endpoint', '=', endpoint)
          .orderBy('id')
          .execute()
      ).map((r) => JSON.parse(r.payload) as { type: string; timestamp: string; data: any }); // eslint-disable-line @typescript-eslint/no-explicit-any

    before(async () => {
      ({ db, cleanup } = await s.open());
      await migrate(db);
      writer = new OutboxWriter(db.kysely, db.kind, [
        { name: 'hook', events: null },
        { name: 'calls-only', events: new Set(['call.ended']) },
      ]);
      writer.onCommitted(() => commits++);
      const queue = new WriteQueue(db, { maxPending: 1000 });
      records = new CallRecordStore(db, queue, writer);
      meetings = new MeetingStore(db.kysely, queue, writer);
      outbox = new OutboxStore(db.kysely);
    });
    after(() => cleanup());

    test("a call's transitions write ringing, accepted, ended; ended's record is the API's", async () => {
      const c = start('c-1');
      const before = commits;
      await records.created(c);
      await records.accepted(c, T0 + 1000, 'dev-b', 'ios');
      const record = await records.ended(c, {
        callId: 'c-1',
        reason: 'hangup',
        acceptedAt: T0 + 1000,
        endedAt: T0 + 61_000,
        ringMs: 1000,
        answeredDevice: 'dev-b',
        answeredClientType: 'ios',
        mediaConnectedAt: T0 + 1500,
        mediaFailedReason: null,
      });
      const got = await events('call:c-1');
      assert.deepEqual(
        got.map((e) => e.type),
        ['call.ringing', 'call.accepted', 'call.ended'],
      );
      assert.equal(got[0]!.timestamp, new Date(T0).toISOString());
      assert.equal(got[1]!.data.answeredBy.deviceId, 'dev-b');
      assert.deepEqual(got[2]!.data, { callId: 'c-1', record });
      assert.deepEqual(got[2]!.data.record, await records.get('c-1', 'alice'));
      // The filtered endpoint has only what it asked for.
      assert.deepEqual(
        (await events('call:c-1', 'calls-only')).map((e) => e.type),
        ['call.ended'],
      );
      assert.equal(commits - before, 3, 'each commit told the deliverers');
    });

    test('a write the store refuses writes no event (its transaction rolled back)', async () => {
      const bad = { ...start('c-bad'), callerDevice: null as unknown as string };
      await assert.rejects(records.created(bad));
      await assert.rejects(
        records.accepted({ ...start('c-bad2'), caller: null as unknown as string }, T0, 'd', 'web'),
      );
      assert.deepEqual(await events('call:c-bad'), []);
      assert.deepEqual(await events('call:c-bad2'), []);
    });

    test('a call found already there is not announced ringing again (janitor, replay)', async () => {
      const c = start('c-2');
      await records.created(c);
      await records.created(c);
      assert.deepEqual(
        (await events('call:c-2')).map((e) => e.type),
        ['call.ringing'],
      );
    });

    test('a group replayed (the journal after a crash) inserts its events once', async () => {
      const qs = writer.statements({ type: 'user.online', stream: 'user:u1', at: T0, data: {} });
      await db.writeBatch(qs);
      await db.writeBatch(qs);
      assert.equal((await events('user:u1')).length, 1);
    });

    test('meetings: started, joined, left, joined, ended with the stays it closed', async () => {
      const m = id(1);
      const stream = `meeting:${m}`;
      await meetings.create({ meetingId: m, title: 'T', hostId: 'h', at: T0 });
      await meetings.join({ meetingId: m, userId: 'h', nickname: 'H', role: 'host', at: T0 + 1 });
      await meetings.join({
        meetingId: m,
        userId: 'p',
        nickname: 'P',
        role: 'participant',
        at: T0 + 2,
      });
      // Joining again keeps the stay: no second event.
      await meetings.join({
        meetingId: m,
        userId: 'p',
        nickname: 'P',
        role: 'participant',
        at: T0 + 3,
      });
      assert.equal(await meetings.leave(m, 'p', T0 + 4), true);
      assert.equal(await meetings.leave(m, 'p', T0 + 5), false);
      await meetings.join({
        meetingId: m,
        userId: 'p',
        nickname: 'P',
        role: 'participant',
        at: T0 + 6,
      });
      // A dropped connection's leave, queued; then again for a stay already closed: no event.
      await meetings.left(m, 'p', T0 + 7);
      await meetings.left(m, 'p', T0 + 8);
      assert.equal(await meetings.end(m, 'h', T0 + 9), true);
      assert.equal(await meetings.end(m, 'h', T0 + 10), false);
      const got = await events(stream);
      assert.deepEqual(
        got.map((e) => `${e.type}:${e.data.userId ?? ''}:${e.data.reason ?? ''}`),
        [
          'meeting.started::',
          'participant.joined:h:',
          'participant.joined:p:',
          'participant.left:p:left',
          'participant.joined:p:',
          'participant.left:p:disconnected',
          'participant.left:h:meeting_ended',
          'meeting.ended::',
        ],
      );
      assert.equal(got[7]!.data.endedBy, 'h');
    });

    test('due: the oldest pending event of each stream; retry holds its stream; dead frees it', async () => {
      const w = new OutboxWriter(db.kysely, db.kind, [{ name: 'due', events: null }]);
      for (const [stream, n] of [
        ['s:a', 1],
        ['s:b', 1],
        ['s:a', 2],
      ] as const)
        await db.writeBatch(w.statements({ type: 'user.online', stream, at: T0, data: { n } }));
      const now = T0 + 1000;
      let due = await outbox.due('due', now, 10);
      assert.deepEqual(
        due.map((e) => [e.stream, JSON.parse(e.payload).data.n]),
        [
          ['s:a', 1],
          ['s:b', 1],
        ],
      );
      // s:a's first failed and waits: s:a's second waits behind it.
      await outbox.retry(due[0]!.id, 1, now + 5000, 'HTTP 503');
      await outbox.sent([due[1]!.id], now);
      assert.deepEqual(await outbox.due('due', now, 10), []);
      assert.equal((await outbox.depth('due')).pending, 2);
      assert.equal((await outbox.depth('due')).oldest, T0);
      due = await outbox.due('due', now + 5000, 10);
      assert.deepEqual(
        due.map((e) => [e.stream, e.attempts]),
        [['s:a', 1]],
      );
      await outbox.dead(due[0]!.id, 2, now + 5000, 'HTTP 500');
      due = await outbox.due('due', now + 5000, 10);
      assert.deepEqual(
        due.map((e) => JSON.parse(e.payload).data.n),
        [2],
      );
      const dead = await outbox.deadLetters({ endpoint: 'due', limit: 10 });
      assert.deepEqual(
        dead.map((d) => [d.type, d.attempts, d.lastError]),
        [['user.online', 2, 'HTTP 500']],
      );
      assert.equal(await outbox.replay({ endpoint: 'due', ids: [dead[0]!.id], now }), 1);
      assert.deepEqual(await outbox.deadLetters({ endpoint: 'due', limit: 10 }), []);
      // Replayed: it is pending again, ahead of the stream's later event (lower id).
      due = await outbox.due('due', now, 10);
      assert.deepEqual(
        due.map((e) => JSON.parse(e.payload).data.n),
        [1],
      );
      assert.equal(await outbox.prune(now + 1), 1, 'the delivered event of s:b');
    });
  });
}
