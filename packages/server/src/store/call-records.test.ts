import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testStores } from './stores.kit.ts';
import type { EndReason } from '@parley/protocol';
import { CallRecordStore, migrate, type Db } from './index.ts';
import type { CallEnd, CallStart } from '../core/index.ts';

/** The repository contract on every store (see stores.kit.ts). */
const stores = testStores('test');

const start = (n: number, caller = 'alice', callee = 'bob'): CallStart => ({
  callId: `n1.call-${n}`,
  caller,
  callerDevice: `${caller}-d1`,
  callee,
  media: n % 2 ? 'audio' : 'video',
  createdAt: Date.UTC(2026, 0, 1, 12, 0, n),
  ownerNode: 'n1',
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** The end of a call nobody answered, `ms` after it started. */
const unanswered = (c: CallStart, reason: EndReason, ms: number): CallEnd => ({
  callId: c.callId,
  reason,
  acceptedAt: null,
  endedAt: c.createdAt + ms,
  ringMs: ms,
  answeredDevice: null,
  answeredClientType: null,
  mediaConnectedAt: null,
  mediaFailedReason: null,
});

for (const s of stores) {
  describe(`call records on ${s.name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let store: CallRecordStore;

    before(async () => {
      ({ db, cleanup } = await s.open());
      await migrate(db);
      assert.deepEqual(await migrate(db), [], 'migrating twice applies nothing');
      store = new CallRecordStore(db);
    });
    after(() => cleanup());

    test('a row exists from the invite and follows each transition', async () => {
      const c = start(1);
      await store.created(c);
      let row = await db.kysely
        .selectFrom('call_records')
        .selectAll()
        .where('call_id', '=', c.callId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 0);
      assert.equal(row.call_type, 1);
      assert.equal(row.end_time, null);
      await store.accepted(c, c.createdAt + 2000, 'bob-d2', 'ios');
      row = await db.kysely
        .selectFrom('call_records')
        .selectAll()
        .where('call_id', '=', c.callId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 1);
      assert.equal(row.answered_device, 'bob-d2');
      const answer = { at: c.createdAt + 2000, device: 'bob-d2', clientType: 'ios' };
      const connectedAt = c.createdAt + 2600;
      await store.media(c, answer, { connectedAt, failedReason: null });
      row = await db.kysely
        .selectFrom('call_records')
        .selectAll()
        .where('call_id', '=', c.callId)
        .executeTakeFirstOrThrow();
      assert.equal(new Date(row.media_connected_at!).toISOString(), iso(connectedAt));
      assert.equal(row.status, 1);
      const rec = await store.ended(c, {
        callId: c.callId,
        reason: 'hangup',
        acceptedAt: c.createdAt + 2000,
        endedAt: c.createdAt + 62_400,
        ringMs: 2000,
        answeredDevice: 'bob-d2',
        answeredClientType: 'ios',
        mediaConnectedAt: connectedAt,
        mediaFailedReason: null,
      });
      assert.equal(rec.mediaConnectedAt, iso(connectedAt));
      assert.deepEqual(await store.get(c.callId, 'bob'), rec);
      assert.equal(rec.status, 'completed');
      assert.equal(rec.duration, 60);
      row = await db.kysely
        .selectFrom('call_records')
        .selectAll()
        .where('call_id', '=', c.callId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 3);
      assert.equal(row.end_reason, 'hangup');
      assert.equal(Number(row.duration), 60);
      assert.equal(Number(row.ring_ms), 2000);
      assert.deepEqual(
        await store.get(c.callId, 'bob'),
        rec,
        'read back equals what was announced',
      );
    });

    test('outcomes map to the spec status column', async () => {
      const cases = [
        ['rejected', 2, 'rejected'],
        ['busy', 2, 'busy'],
        ['no_answer', 0, 'missed'],
        ['cancelled', 0, 'cancelled'],
        ['offline', 0, 'missed'],
      ] as const;
      let n = 100;
      for (const [reason, status, outcome] of cases) {
        const c = start(n++);
        await store.created(c);
        const rec = await store.ended(c, unanswered(c, reason, 500));
        assert.equal(rec.status, outcome, reason);
        const row = await db.kysely
          .selectFrom('call_records')
          .select('status')
          .where('call_id', '=', c.callId)
          .executeTakeFirstOrThrow();
        assert.equal(row.status, status, reason);
      }
    });

    test('history is per user, newest first, paged; strangers see nothing', async () => {
      for (let n = 200; n < 205; n++) {
        const c = start(n, 'carol', 'dave');
        await store.created(c);
        await store.ended(c, unanswered(c, 'no_answer', 1));
      }
      const live = start(299, 'carol', 'dave');
      await store.created(live);
      const p1 = await store.list('dave', 3);
      assert.deepEqual(
        p1.records.map((r) => r.callId),
        ['n1.call-204', 'n1.call-203', 'n1.call-202'],
      );
      assert.ok(p1.next);
      const p2 = await store.list('dave', 3, p1.next);
      assert.deepEqual(
        p2.records.map((r) => r.callId),
        ['n1.call-201', 'n1.call-200'],
      );
      assert.equal(p2.next, null);
      assert.equal((await store.list('mallory', 10)).records.length, 0);
      assert.equal(await store.get('n1.call-200', 'mallory'), undefined);
      assert.equal(
        await store.get(live.callId, 'carol'),
        undefined,
        'a live call is not history yet',
      );
    });

    test('writes issued together land in one batch, in order', async () => {
      const c = start(300);
      const writes = [
        store.created(c),
        store.accepted(c, c.createdAt + 10, 'bob-d1', 'web'),
        store.ended(c, {
          callId: c.callId,
          reason: 'hangup',
          acceptedAt: c.createdAt + 10,
          endedAt: c.createdAt + 3010,
          ringMs: 10,
          answeredDevice: 'bob-d1',
          answeredClientType: 'web',
          mediaConnectedAt: null,
          mediaFailedReason: null,
        }),
      ];
      await Promise.all(writes);
      const row = await db.kysely
        .selectFrom('call_records')
        .selectAll()
        .where('call_id', '=', c.callId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 3);
      assert.equal(Number(row.duration), 3);
    });

    test("abandon ends a dead node's live calls and leaves everything else", async () => {
      const ringing = { ...start(500), ownerNode: 'dead' };
      const answered = { ...start(501), ownerNode: 'dead' };
      const finished = { ...start(502), ownerNode: 'dead' };
      const elsewhere = { ...start(503), ownerNode: 'alive' };
      for (const c of [ringing, answered, finished, elsewhere]) await store.created(c);
      await store.accepted(answered, answered.createdAt + 1000, 'bob-d9', 'ios');
      await store.ended(finished, unanswered(finished, 'hangup', 10));
      const at = answered.createdAt + 31_000;
      const lost = await store.abandon('dead', 'node_lost', at);
      assert.deepEqual(lost.map((l) => l.record.callId).sort(), [ringing.callId, answered.callId]);
      const byId = new Map(lost.map((l) => [l.record.callId, l]));
      const a = byId.get(answered.callId)!;
      assert.equal(a.record.status, 'completed');
      assert.equal(a.record.reason, 'node_lost');
      assert.equal(a.record.duration, 30);
      assert.deepEqual(a.record.answeredBy, { deviceId: 'bob-d9', clientType: 'ios' });
      assert.equal(a.start.callerDevice, 'alice-d1');
      const r = byId.get(ringing.callId)!;
      assert.equal(r.record.status, 'failed');
      assert.equal(r.record.answeredBy, null);
      assert.equal(r.end.ringMs, at - ringing.createdAt);
      assert.deepEqual(await store.get(answered.callId, 'alice'), a.record);
      assert.equal(await store.get(elsewhere.callId, 'alice'), undefined, 'other nodes untouched');
      assert.deepEqual(await store.abandon('dead', 'node_lost', at), [], 'nothing twice');
    });

    test('abandon records the known calls whose rows were never written, and only those', async () => {
      const unwritten = { ...start(510), ownerNode: 'gone' };
      const ended = { ...start(511), ownerNode: 'gone' };
      await store.created(ended);
      await store.ended(ended, unanswered(ended, 'hangup', 10));
      const at = unwritten.createdAt + 5000;
      const lost = await store.abandon('gone', 'node_lost', at, [unwritten, ended]);
      assert.deepEqual(
        lost.map((l) => l.record.callId),
        [unwritten.callId],
      );
      assert.equal(lost[0]!.record.reason, 'node_lost');
      assert.equal(lost[0]!.record.status, 'failed');
      assert.equal(lost[0]!.end.ringMs, 5000);
      assert.equal((await store.get(unwritten.callId, 'bob'))?.reason, 'node_lost');
      assert.equal((await store.get(ended.callId, 'alice'))?.reason, 'hangup', 'ended stays');
    });

    test('the end of a call whose earlier writes were lost still leaves the whole row', async () => {
      const c = start(500);
      const rec = await store.ended(c, unanswered(c, 'no_answer', 3000));
      assert.deepEqual(await store.get(c.callId, 'bob'), rec);
      await store.created(c);
      assert.deepEqual(await store.get(c.callId, 'bob'), rec, 'a late invite changes nothing');
    });

    test('a write that can never succeed rejects alone and the rest still commit', async () => {
      const a = start(400);
      const bad = { ...start(402), caller: null as unknown as string };
      const b = start(401);
      const results = await Promise.allSettled([
        store.created(a),
        store.created(bad),
        store.created(b),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const n = await db.kysely
        .selectFrom('call_records')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('call_id', 'in', [a.callId, b.callId])
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 2);
    });
  });
}
