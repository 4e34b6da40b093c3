import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { AppError } from '@parley/protocol';
import type { MeetingRecords, Sender, UserPeers } from '../core/index.ts';
import { Metrics } from '../observability/index.ts';
import { testPool, until } from '../sfu/pool.kit.ts';
import type { SfuPool } from '../sfu/index.ts';
import { MeetingStore, migrate } from '../store/index.ts';
import { testStores, type TestStore } from '../store/stores.kit.ts';
import { RtcService } from './rtc.ts';

/**
 * The per-user peer cap across meetings as the rtc service keeps it, on a real SFU worker and
 * SQLite: every peer holds one slot of the UserPeers port from its join until it goes, however
 * it goes, and a join that fails holds none.
 */

/**
 * A UserPeers that counts every take and give without clamping (a slot given back twice shows),
 * over `elsewhere`: the user's peers on other nodes.
 */
class Ledger implements UserPeers {
  readonly held = new Map<string, number>();
  readonly elsewhere = new Map<string, number>();
  takes = 0;

  take(userId: string, cap: number, extra: number): Promise<boolean> {
    const n = this.of(userId);
    if (n + (this.elsewhere.get(userId) ?? 0) + extra >= cap) return Promise.resolve(false);
    this.takes++;
    this.held.set(userId, n + 1);
    return Promise.resolve(true);
  }

  give(userId: string): void {
    this.held.set(userId, this.of(userId) - 1);
  }

  of(userId: string): number {
    return this.held.get(userId) ?? 0;
  }
}

const sender = (userId: string): Sender => ({
  userId,
  deviceId: randomUUID(),
  clientType: 'web',
  name: userId,
  grants: [],
});

/** Expects the rejection to be limit_exceeded naming `cap`. */
async function refused(p: Promise<unknown>, cap: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'limit_exceeded');
    assert.equal((err.details as { limit: string }).limit, cap);
    return true;
  });
}

describe('the peer cap across meetings', () => {
  let store: TestStore;
  let meetings: MeetingStore;
  let sfu: SfuPool;
  const services: RtcService[] = [];

  before(async () => {
    store = await testStores('rtc')[0]!.open();
    await migrate(store.db);
    meetings = new MeetingStore(store.db.kysely);
    sfu = testPool({ workers: 1 });
  });
  after(async () => {
    for (const s of services) s.close();
    sfu.close();
    await store.cleanup();
  });

  /** An rtc service on the pool with `peersPerUser` 2, counting on `ledger`. */
  const service = (ledger: Ledger, store: MeetingRecords = meetings) => {
    const rtc = new RtcService({
      store,
      sfu,
      delivery: { toDevice: () => undefined, toUser: () => Promise.resolve() },
      emptyRoomGraceMs: 60_000,
      consumersPerWorker: 800,
      caps: { peersPerUserPerMeeting: 1, peersPerUser: 2, transportsPerPeer: 2 },
      userPeers: ledger,
      metrics: new Metrics(),
      log: pino({ level: 'silent' }),
    });
    services.push(rtc);
    return rtc;
  };

  /** A meeting that `users` are participants of. */
  const meeting = async (...users: string[]) => {
    const meetingId = randomUUID();
    await meetings.create({ meetingId, title: null, hostId: users[0]!, at: Date.now() });
    for (const userId of users) {
      await meetings.join({
        meetingId,
        userId,
        nickname: userId,
        role: 'participant',
        at: Date.now(),
      });
    }
    return meetingId;
  };

  test('each way a peer goes gives its slot back once', async () => {
    const ledger = new Ledger();
    const rtc = service(ledger);
    const [m1, m2, m3] = await Promise.all([meeting('ann'), meeting('ann'), meeting('ann')]);
    const left = sender('ann');
    await rtc.join(left, { type: 'rtc:join', meetingId: m1 });
    const gone = sender('ann');
    await rtc.join(gone, { type: 'rtc:join', meetingId: m2 });
    assert.equal(ledger.of('ann'), 2);
    await refused(rtc.join(sender('ann'), { type: 'rtc:join', meetingId: m3 }), 'peersPerUser');
    assert.equal(rtc.has(m3), false, 'the refused join opened no room');

    await rtc.userLeft(m1, 'ann'); // REST leave
    assert.equal(ledger.of('ann'), 1);
    rtc.deviceGone(gone); // the socket closed
    await until(() => ledger.of('ann') === 0, 'the closed socket gives its slot back');

    // Its two empty rooms count against ann (their routers live on): she rejoins one of them.
    await refused(rtc.join(sender('ann'), { type: 'rtc:join', meetingId: m3 }), 'peersPerUser');
    await rtc.join(sender('ann'), { type: 'rtc:join', meetingId: m1 });
    await rtc.ended(m1, 'ann', new Date().toISOString());
    assert.equal(ledger.of('ann'), 0, 'the meeting ended');

    assert.equal(ledger.takes, 3);
  });

  test('a join that fails holds no slot', async () => {
    const ledger = new Ledger();
    const rtc = service(ledger);
    const m1 = await meeting('bea');
    const first = sender('bea');
    await rtc.join(first, { type: 'rtc:join', meetingId: m1 });
    await assert.rejects(rtc.join(first, { type: 'rtc:join', meetingId: m1 }), /already joined/);
    await refused(
      rtc.join(sender('bea'), { type: 'rtc:join', meetingId: m1 }),
      'peersPerUserPerMeeting',
    );
    await assert.rejects(
      rtc.join(sender('cat'), { type: 'rtc:join', meetingId: m1 }),
      /not a participant/,
    );
    await assert.rejects(rtc.join(sender('bea'), { type: 'rtc:join', meetingId: randomUUID() }));
    assert.deepEqual([...ledger.held], [['bea', 1]]);
    rtc.close();
    assert.deepEqual([...ledger.held], [['bea', 0]], 'shutdown gives it back');
  });

  test('a join whose user left the meeting meanwhile gives its slot back', async () => {
    const ledger = new Ledger();
    const meetingId = await meeting('gil');
    // REST's leave lands between the join's first check and its check in the room's order.
    const store: MeetingRecords = Object.assign(Object.create(meetings) as MeetingStore, {
      participation: async (id: string, userId: string) => {
        const stay = await meetings.participation(id, userId);
        await meetings.leave(id, userId, Date.now());
        return stay;
      },
    });
    const rtc = service(ledger, store);
    await assert.rejects(rtc.join(sender('gil'), { type: 'rtc:join', meetingId }), /participant/);
    assert.deepEqual([ledger.takes, ledger.of('gil')], [1, 0]);
  });

  test("the user's peers on other nodes count; joins at once on this node never pass the cap", async () => {
    const ledger = new Ledger();
    const rtc = service(ledger);
    const ids = await Promise.all([meeting('dan'), meeting('dan'), meeting('dan')]);
    ledger.elsewhere.set('dan', 1);
    const joins = await Promise.allSettled(
      ids.map((meetingId) => rtc.join(sender('dan'), { type: 'rtc:join', meetingId })),
    );
    assert.deepEqual(
      joins.map((j) => j.status).sort(),
      ['fulfilled', 'rejected', 'rejected'],
      'one place left, as the other node holds one',
    );
    assert.equal(ledger.of('dan'), 1);
    ledger.elsewhere.set('dan', 0); // the other node's peer left
    const open = ids.find((id) => !rtc.has(id))!;
    await rtc.join(sender('dan'), { type: 'rtc:join', meetingId: open });
    assert.equal(ledger.of('dan'), 2);
  });

  test("a worker's death gives its peers' slots back", async () => {
    const ledger = new Ledger();
    const rtc = service(ledger);
    const meetingId = await meeting('eve');
    await rtc.join(sender('eve'), { type: 'rtc:join', meetingId });
    process.kill(rtc.layout(meetingId)!.routers[0]!.workerPid, 'SIGKILL');
    await until(() => ledger.of('eve') === 0, "the worker's death gives the slot back");
    assert.equal(rtc.has(meetingId), false);
  });
});
