import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testStores } from './stores.kit.ts';
import { MeetingStore, migrate, type Db } from './index.ts';

/** The repository contract on every store (see stores.kit.ts). */
const stores = testStores('meet');

const T0 = Date.UTC(2026, 1, 26, 16, 0, 0);
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

for (const s of stores) {
  describe(`meetings on ${s.name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let store: MeetingStore;

    before(async () => {
      ({ db, cleanup } = await s.open());
      await migrate(db);
      store = new MeetingStore(db.kysely);
    });
    after(() => cleanup());

    test('create and read back, with ISO times', async () => {
      const m = await store.create({ meetingId: id(1), title: 'Plan', hostId: 'h', at: T0 });
      assert.deepEqual(await store.get(id(1)), m);
      assert.equal(m.createdAt, '2026-02-26T16:00:00.000Z');
      assert.equal(await store.get(id(999)), undefined);
    });

    test('liveHostedBy counts the meetings a host has not ended', async () => {
      for (const n of [101, 102, 103]) {
        await store.create({ meetingId: id(n), title: null, hostId: 'counted', at: T0 });
      }
      await store.create({ meetingId: id(104), title: null, hostId: 'other', at: T0 });
      assert.equal(await store.end(id(102), 'counted', T0 + 1), true);
      assert.equal(await store.liveHostedBy('counted'), 2);
      assert.equal(await store.liveHostedBy('nobody'), 0);
    });

    test('join is idempotent; one open stay per user; leave closes it', async () => {
      await store.create({ meetingId: id(2), title: null, hostId: 'h', at: T0 });
      const a = await store.join({
        meetingId: id(2),
        userId: 'a',
        nickname: 'A',
        role: 'participant',
        at: T0 + 1000,
      });
      const again = await store.join({
        meetingId: id(2),
        userId: 'a',
        nickname: 'A2',
        role: 'participant',
        at: T0 + 2000,
      });
      assert.deepEqual(again, a);
      const racing = await Promise.all(
        [1, 2, 3].map((i) =>
          store.join({
            meetingId: id(2),
            userId: 'b',
            nickname: 'B',
            role: 'participant',
            at: T0 + 3000 + i,
          }),
        ),
      );
      assert.equal(
        new Set(racing.map((p) => p.joinedAt)).size,
        1,
        'concurrent joins share one stay',
      );
      assert.deepEqual(
        (await store.participants(id(2))).map((p) => p.userId),
        ['a', 'b'],
      );
      assert.equal(await store.leave(id(2), 'a', T0 + 5000), true);
      assert.equal(await store.leave(id(2), 'a', T0 + 6000), false, 'nothing left to close');
      assert.equal(await store.participation(id(2), 'a'), undefined);
      const back = await store.join({
        meetingId: id(2),
        userId: 'a',
        nickname: 'A',
        role: 'participant',
        at: T0 + 7000,
      });
      assert.equal(back.joinedAt, new Date(T0 + 7000).toISOString(), 'a new stay');
    });

    test('end closes every stay, once', async () => {
      await store.create({ meetingId: id(3), title: null, hostId: 'h', at: T0 });
      await store.join({ meetingId: id(3), userId: 'h', nickname: 'H', role: 'host', at: T0 });
      await store.join({
        meetingId: id(3),
        userId: 'c',
        nickname: 'C',
        role: 'participant',
        at: T0,
      });
      assert.equal(await store.end(id(3), 'h', T0 + 60_000), true);
      assert.equal(await store.end(id(3), 'h', T0 + 70_000), false);
      const m = await store.get(id(3));
      assert.equal(m?.status, 'ended');
      assert.equal(m?.endedAt, new Date(T0 + 60_000).toISOString());
      assert.equal(m?.endedBy, 'h');
      assert.deepEqual(await store.participants(id(3)), []);
      const rows = await db.kysely
        .selectFrom('meeting_participants')
        .select('left_at')
        .where('meeting_id', '=', id(3))
        .execute();
      assert.ok(rows.every((r) => r.left_at !== null));
    });
  });
}
