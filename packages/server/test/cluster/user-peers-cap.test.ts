import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parleyEnv, startParley, type ServerChild } from '@parley/bench/children';
import {
  FAST_CLUSTER,
  JWT_SECRET,
  REDIS_URL,
  onFreePort,
  startCluster,
  type ClusterServer,
} from '../cluster-harness.ts';
import { TestClient, until, type Frame } from '../harness.ts';
import { createMeeting, joinMeeting, workerBin } from '../meeting-kit.ts';

/**
 * The per-user cap on media peers across meetings (`caps.peersPerUser`, here 2) counts the
 * user's peers on every node of the cluster, whether meetings span the nodes or not: a user
 * with one peer on each of two nodes is refused a third on either, leaving on one node frees a
 * place on the other, and a killed node's peers stop counting once the cluster takes it for
 * dead (its liveness key expires; the janitor then removes its slots).
 */

const CAP = 2;

/** The refusal of the cap across meetings, as the native dialect says it. */
function assertCapped(r: Frame): void {
  assert.equal(r.type, 'error', JSON.stringify(r));
  assert.deepEqual(r.error, {
    code: 'limit_exceeded',
    message: `at most ${CAP} connections of one user may be in meetings' media at once`,
    details: { limit: 'peersPerUser', max: CAP },
  });
}

for (const meetingsSpan of [true, false]) {
  describe(`the peer cap across meetings on two nodes (meetingsSpan: ${meetingsSpan})`, () => {
    let srv: ClusterServer;
    const sockets: TestClient[] = [];

    /** A native connection of `user` straight to the node at `host` (not through nginx). */
    const at = async (host: string, user: string): Promise<TestClient> => {
      const token = await srv.token(user, { name: user });
      const c = await TestClient.open(`ws://${host}/ws?token=${token}&clientType=web`);
      sockets.push(c);
      return c;
    };
    const join = (c: TestClient, meetingId: string) => c.request('rtc:join', { meetingId });
    /** Meetings that `user` hosts and is in. */
    const meetings = async (user: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await createMeeting(srv, user));
      for (const id of ids) await joinMeeting(srv, id, user);
      return ids;
    };

    before(async () => {
      srv = await startCluster(
        {
          caps: { peersPerUser: CAP },
          limits: { rateBurst: 1000 },
          sfu: { workers: 1, workerBin: workerBin(), emptyRoomGraceMs: 60_000 },
          cluster: { meetingsSpan },
        },
        2,
      );
    });
    after(async () => {
      for (const c of sockets) c.close();
      await srv?.close();
    });

    test('a peer on each node: a third is refused on both; leaving on one frees a place', async () => {
      const [m1, m2, m3] = (await meetings('una', 3)) as [string, string, string];
      const [h0, h1] = srv.hosts as [string, string];
      const first = await at(h0, 'una');
      assert.equal((await join(first, m1)).type, 'ok');
      const second = await at(h1, 'una');
      assert.equal((await join(second, m2)).type, 'ok');
      assertCapped(await join(await at(h0, 'una'), m3));
      assertCapped(await join(await at(h1, 'una'), m3));
      // Another user is not counted with her.
      const [other] = await meetings('vic', 1);
      assert.equal((await join(await at(h0, 'vic'), other!)).type, 'ok');

      // She leaves on node 1: node 0 takes a peer of hers again.
      assert.equal((await second.request('rtc:leave', { meetingId: m2 })).type, 'ok');
      const third = await at(h0, 'una');
      assert.equal((await join(third, m3)).type, 'ok', 'a place freed on the other node');
      assertCapped(await join(await at(h1, 'una'), m2));
      // A closed connection frees its place too.
      third.close();
      await until('the closed connection frees a place', async () => {
        const r = await join(await at(h1, 'una'), m2);
        return r.type === 'ok';
      });
    });
  });
}

describe('the peer cap across meetings when a node is killed', () => {
  let srv: ClusterServer;
  let child: ServerChild | undefined;
  let dataDir: string;
  const sockets: TestClient[] = [];
  const redis = new Redis(REDIS_URL);

  before(async () => {
    srv = await startCluster(
      {
        caps: { peersPerUser: CAP },
        limits: { rateBurst: 1000 },
        sfu: { workers: 1, workerBin: workerBin(), emptyRoomGraceMs: 60_000 },
        cluster: { meetingsSpan: true },
      },
      1,
    );
    dataDir = mkdtempSync(join(tmpdir(), 'parley-peers-cap-'));
  });
  after(async () => {
    for (const c of sockets) c.close();
    await child?.stop(2000);
    await srv?.close();
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a killed node's peers stop counting, and the janitor removes its slots", async () => {
    // A second node in a process of its own, on the same store and Redis keys, to be killed.
    const node = await onFreePort(async (port) => ({
      port,
      child: await startParley({
        ...parleyEnv({ port, dataDir, secret: JWT_SECRET }),
        DATABASE_URL: srv.app.config.databaseUrl!,
        REDIS_URL,
        PARLEY_NODE_ID: `doomed-${process.pid}`,
        PARLEY_CLUSTER_PREFIX: srv.prefix,
        PARLEY_CLUSTER_HEARTBEAT_MS: String(FAST_CLUSTER.heartbeatMs),
        PARLEY_CLUSTER_NODE_TTL_MS: String(FAST_CLUSTER.nodeTtlMs),
        PARLEY_CLUSTER_JANITOR_MS: String(FAST_CLUSTER.janitorIntervalMs),
        PARLEY_CAP_PEERS: String(CAP),
        PARLEY_SFU_WORKERS: '1',
        LOG_LEVEL: process.env.TEST_LOG ?? 'warn',
      }),
    }));
    child = node.child;
    const doomed = `doomed-${process.pid}`;
    const at = async (host: string): Promise<TestClient> => {
      const token = await srv.token('wes', { name: 'wes' });
      const c = await TestClient.open(`ws://${host}/ws?token=${token}&clientType=web`);
      sockets.push(c);
      return c;
    };
    const join = (c: TestClient, meetingId: string) => c.request('rtc:join', { meetingId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createMeeting(srv, 'wes'));
    for (const id of ids) await joinMeeting(srv, id, 'wes');
    const [m1, m2, m3] = ids as [string, string, string];
    const here = srv.hosts[0]!;

    assert.equal((await join(await at(`127.0.0.1:${node.port}`), m1)).type, 'ok');
    assert.equal((await join(await at(here), m2)).type, 'ok');
    assertCapped(await join(await at(here), m3));
    const slots = `${srv.prefix}:user-peers:wes`;
    assert.deepEqual(await redis.hgetall(slots), { [doomed]: '1', [srv.app.nodeId]: '1' });

    process.kill(child.pid, 'SIGKILL');
    // Once its liveness key has expired, its peer counts no more (refused joins hold nothing,
    // so asking again is harmless).
    const late = await at(here);
    await until(
      'the dead node’s peer stops counting',
      async () => (await join(late, m3)).type === 'ok',
      30_000,
    );
    await until(
      'the janitor removes its slots',
      async () =>
        (await redis.hexists(slots, doomed)) === 0 &&
        (await redis.exists(`${srv.prefix}:node-user-peers:${doomed}`)) === 0,
      30_000,
    );
    assert.deepEqual(await redis.hgetall(slots), { [srv.app.nodeId]: '2' });
  });
});
