import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'pg';
import { pino } from 'pino';
import { createApp, type App } from '../src/app.ts';
import { parleyEnv, startParley, type ServerChild } from '@parley/bench/children';
import { loadConfig } from '../src/config/index.ts';
import { openDatabase, type Db } from '../src/store/index.ts';
import {
  FAST_CLUSTER,
  JWT_SECRET,
  REDIS_URL,
  createSchema,
  dropKeys,
  onFreePort,
  requireRedis,
  uniqueName,
  waitForPort,
} from './cluster-harness.ts';
import { nodeApi, nodeAuth } from './child-nodes.ts';
import { of, ok, TestClient, type Frame } from './harness.ts';
import { createMeeting, joinMeeting } from './meeting-kit.ts';

/**
 * Failures of a cluster: a node killed with SIGKILL mid-call (nodes are child processes), and
 * Redis restarting under traffic (a redis-server of the test's own, never the machine's).
 */

/** A client of the native dialect on the node at `port`. */
async function client(port: number, userId: string, opened: TestClient[]): Promise<TestClient> {
  const token = await nodeAuth.mint(userId, { name: userId, grants: ['voice'] });
  const c = await TestClient.open(`ws://127.0.0.1:${port}/ws?token=${token}&clientType=web`);
  opened.push(c);
  return c;
}

/** A meeting hosted by `host` that `others` joined too (REST on the node at `port`). */
async function meeting(port: number, host: string, ...others: string[]): Promise<string> {
  const meetingId = await createMeeting(nodeApi(port), host);
  await joinMeeting(nodeApi(port), meetingId, host, ...others);
  return meetingId;
}

/** `caller` calls `callee`, who answers; returns the call id. */
async function answeredCall(caller: TestClient, callee: TestClient, calleeId: string) {
  const { callId } = (await ok(caller, 'call:invite', { callee: calleeId, media: 'audio' }))
    .data as { callId: string };
  await callee.next(of('call:incoming', callId));
  await ok(callee, 'call:accept', { callId });
  await caller.next(of('call:accepted', callId));
  return callId;
}

/** A full call from invite to record, as proof that the cluster serves. */
async function fullCall(
  caller: TestClient,
  callee: TestClient,
  calleeId: string,
  timeoutMs = 3000,
) {
  const callId = await answeredCall(caller, callee, calleeId);
  caller.send({ type: 'call:offer', data: { callId, sdp: 'v=0 chaos' } });
  assert.equal((await callee.next(of('call:offer', callId), timeoutMs)).data.sdp, 'v=0 chaos');
  await ok(caller, 'call:hangup', { callId });
  assert.equal((await callee.next(of('call:ended', callId), timeoutMs)).data.reason, 'hangup');
  await callee.next(of('call:record', callId), timeoutMs);
}

/** A node of the chaos cluster: a child process, so that SIGKILL and SIGSTOP are real. */
interface ChaosNode {
  id: string;
  port: number;
  child: ServerChild;
}

/** What the chaos cluster's nodes share: its store, key prefix and files. */
interface ChaosCluster {
  pg: Awaited<ReturnType<typeof createSchema>>;
  prefix: string;
  dataDir: string;
}

/** A fresh store, key prefix and files for a cluster of `kind`. */
async function chaosCluster(kind: string): Promise<ChaosCluster> {
  await requireRedis();
  return {
    pg: await createSchema(),
    prefix: uniqueName(kind),
    dataDir: mkdtempSync(join(tmpdir(), `parley-${kind}-`)),
  };
}

/** Starts the nodes `ids` of `cluster` one at a time (the first runs the migrations). */
async function startNodes(
  cluster: ChaosCluster,
  ids: readonly string[],
  env: Record<string, string> = {},
): Promise<ChaosNode[]> {
  const nodes: ChaosNode[] = [];
  for (const id of ids) {
    const envOf = (port: number) => ({
      ...parleyEnv({ port, dataDir: join(cluster.dataDir, id), secret: JWT_SECRET }),
      DATABASE_URL: cluster.pg.url,
      REDIS_URL,
      PARLEY_NODE_ID: id,
      PARLEY_CLUSTER_PREFIX: cluster.prefix,
      PARLEY_CLUSTER_HEARTBEAT_MS: String(FAST_CLUSTER.heartbeatMs),
      PARLEY_CLUSTER_NODE_TTL_MS: String(FAST_CLUSTER.nodeTtlMs),
      PARLEY_CLUSTER_JANITOR_MS: String(FAST_CLUSTER.janitorIntervalMs),
      PARLEY_DISCONNECT_GRACE_MS: '200',
      // `parley start` starts the SFU at once; one worker is plenty here (two cores, shared).
      PARLEY_SFU_WORKERS: '1',
      LOG_LEVEL: process.env.TEST_LOG ?? 'warn',
      ...env,
    });
    nodes.push(
      await onFreePort(async (port) => ({ id, port, child: await startParley(envOf(port)) })),
    );
  }
  return nodes;
}

/** Stops the nodes and removes what their cluster left (store, keys, files). */
async function stopNodes(nodes: ChaosNode[], cluster: ChaosCluster | undefined): Promise<void> {
  await Promise.all(nodes.map((n) => n.child.stop(2000)));
  await cluster?.pg.drop();
  if (cluster) await dropKeys(cluster.prefix);
  if (cluster) rmSync(cluster.dataDir, { recursive: true, force: true });
}

/** Rethrows with every node's recent log, for the waits that depend on what nodes did. */
const withLogsOf =
  (nodes: ChaosNode[]) =>
  (err: unknown): never => {
    const logs = nodes.map((n) => `--- ${n.id}\n${n.child.tail()}`).join('\n');
    throw new Error(`${(err as Error).message}\n${logs}`);
  };

describe('a node killed mid-call', () => {
  let nodes: ChaosNode[] = [];
  const opened: TestClient[] = [];
  let cluster: ChaosCluster;
  let db: Db;

  before(async () => {
    cluster = await chaosCluster('chaos');
    db = openDatabase({ databaseUrl: cluster.pg.url, dataDir: '' });
    nodes = await startNodes(cluster, ['c1', 'c2', 'c3', 'c4']);
  });

  const withLogs = (err: unknown) => withLogsOf(nodes)(err);

  /** A call's row in the shared store. */
  const rowOf = (callId: string) =>
    db.kysely
      .selectFrom('call_records')
      .selectAll()
      .where('call_id', '=', callId)
      .executeTakeFirstOrThrow();

  after(async () => {
    for (const c of opened) c.close();
    await db?.kysely.destroy();
    await stopNodes(nodes, cluster);
  });

  test("the owner dies: the survivor hears node_lost, the record is finalised, the dead node's users leave presence, new calls work; the rooms it held carry on elsewhere", async () => {
    const [c1, c2, c3] = nodes as [ChaosNode, ChaosNode, ChaosNode];
    const health = (await (await fetch(`http://127.0.0.1:${c2.port}/healthz`)).json()) as Frame;
    assert.equal(health.cluster.roomsNode, 'c1', 'the first node holds the rooms');
    const alice = await client(c1.port, 'k-alice', opened);
    const bob = await client(c2.port, 'k-bob', opened);
    const carol = await client(c3.port, 'k-carol', opened);
    // A room with a member on each node, and a ROOM offer bob → carol not yet answered.
    for (const c of [alice, bob, carol]) await ok(c, 'room:join', { roomId: 'k-room' });
    await ok(bob, 'room:signal', { to: 'k-carol', kind: 'offer', payload: { sdp: 'v=0 room' } });
    await carol.next((f) => f.type === 'room:signal' && f.data.kind === 'offer');
    // A meeting spanning c1 and c2: alice's peer is served on c1, bob's on c2.
    const meetingId = await meeting(c2.port, 'k-alice', 'k-bob');
    const peerOf = async (c: TestClient) => {
      await ok(c, 'rtc:getRouterRtpCapabilities', { meetingId });
      return ((await ok(c, 'rtc:join', { meetingId })).data as { peerId: string }).peerId;
    };
    const alicePeer = await peerOf(alice);
    await peerOf(bob);
    const callId = await answeredCall(alice, bob, 'k-bob');
    assert.ok(callId.startsWith('c1.'), 'the call is owned by the caller’s node');
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 before' } });
    await bob.next(of('call:offer', callId));

    // Mid-call: the row says answered (it is written behind the call, in the next tick).
    for (let i = 0; ; i++) {
      const row = await db.kysely
        .selectFrom('call_records')
        .select('start_time')
        .where('call_id', '=', callId)
        .executeTakeFirst();
      if (row?.start_time) break;
      assert.ok(i < 100, 'the answered call has a row');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The offer went from c1 to c2 over their direct link, not through Redis.
    const linksOf = async (port: number) =>
      ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Frame).cluster
        .links as string[];
    assert.ok((await linksOf(c1.port)).includes('c2'), 'c1 sends to c2 over a link');
    const killedAt = Date.now();
    process.kill(c1.child.pid, 'SIGKILL');

    const ended = await bob.next(of('call:ended', callId), 10_000).catch(withLogs);
    assert.equal(ended.data.reason, 'node_lost');
    const heardMs = Date.now() - killedAt;
    const bound =
      FAST_CLUSTER.nodeTtlMs +
      2 * FAST_CLUSTER.heartbeatMs +
      2 * FAST_CLUSTER.janitorIntervalMs +
      1000;
    assert.ok(heardMs < bound, `heard after ${heardMs} ms`);
    const record = await bob.next(of('call:record', callId), 5000);
    assert.equal(record.data.record.reason, 'node_lost');
    assert.ok(!(await linksOf(c2.port)).includes('c1'), 'no link to the dead node');
    const row = await rowOf(callId);
    assert.equal(row.end_reason, 'node_lost');
    assert.ok(row.end_time, 'end_time is set');

    // alice was only on the dead node: she is offline now, and her presence entry is gone.
    const r = await ok(carol, 'call:invite', { callee: 'k-alice', media: 'audio' });
    const gone = await carol.next(of('call:ended', (r.data as { callId: string }).callId));
    assert.equal(gone.data.reason, 'offline');
    const redis = new Redis(REDIS_URL);
    try {
      assert.deepEqual(await redis.hgetall(`${cluster.prefix}:presence:k-alice`), {});
    } finally {
      redis.disconnect();
    }

    // The survivors call each other, in both directions.
    await fullCall(bob, carol, 'k-carol');
    await fullCall(carol, bob, 'k-bob');

    // The rooms moved to a surviving node: alice left them, the rest of the room and its
    // pending offer are intact, so carol's answer reaches bob.
    const left = await bob.next((f) => f.type === 'room:member_left', 10_000);
    assert.deepEqual([left.data.roomId, left.data.userId], ['k-room', 'k-alice']);
    await ok(carol, 'room:signal', { to: 'k-bob', kind: 'answer', payload: { sdp: 'v=0 ok' } });
    const answer = await bob
      .next((f) => f.type === 'room:signal' && f.data.kind === 'answer')
      .catch(withLogs);
    assert.equal(answer.data.from, 'k-carol');
    const members = await ok(bob, 'room:members', { roomId: 'k-room' });
    assert.deepEqual(
      (members.data as { members: Array<{ userId: string }> }).members.map((m) => m.userId).sort(),
      ['k-bob', 'k-carol'],
    );

    // The meeting lost only c1's peer: bob hears alice leave, and his peer on c2 carries on
    // without a rejoin (its media room never was on c1).
    const aliceLeft = await bob.next((f) => f.type === 'rtc:peerLeft', 10_000).catch(withLogs);
    assert.deepEqual([aliceLeft.data.meetingId, aliceLeft.data.peerId], [meetingId, alicePeer]);
    await ok(bob, 'rtc:createTransport', { meetingId, direction: 'recv' });
  });

  test('the owner dies before the call’s row is written: the rung callee hears node_lost and the call is recorded', async () => {
    const [, c2, c3] = nodes as [ChaosNode, ChaosNode, ChaosNode];
    const erin = await client(c2.port, 'k-erin', opened);
    const finn = await client(c3.port, 'k-finn', opened);
    // Holds every write to call_records: the owner's insert waits, uncommitted, until c2 dies.
    const lock = new postgres.Client({ connectionString: cluster.pg.url });
    await lock.connect();
    let locked = true;
    try {
      await lock.query('begin; lock table call_records in exclusive mode');
      const r = await ok(erin, 'call:invite', { callee: 'k-finn', media: 'video' });
      const callId = (r.data as { callId: string }).callId;
      await finn.next(of('call:incoming', callId));
      process.kill(c2.child.pid, 'SIGKILL');
      await new Promise((res) => setTimeout(res, 200));
      await lock.query('rollback');
      locked = false;
      assert.equal((await finn.next(of('call:ended', callId), 10_000)).data.reason, 'node_lost');
      const record = await finn.next(of('call:record', callId), 5000);
      assert.equal(record.data.record.reason, 'node_lost');
      assert.equal(record.data.record.media, 'video');
      const row = await rowOf(callId);
      assert.equal(row.end_reason, 'node_lost');
      assert.equal(row.caller_id, 'k-erin');
      assert.equal(row.owner_node, 'c2');
    } finally {
      if (locked) await lock.query('rollback').catch(() => undefined);
      await lock.end();
    }
  });
  test('a node that stalls past its TTL is taken for dead, and when it wakes it drops its calls and clients', async () => {
    const [, , c3, c4] = nodes as [ChaosNode, ChaosNode, ChaosNode, ChaosNode];
    const gus = await client(c4.port, 'k-gus', opened);
    const hal = await client(c3.port, 'k-hal', opened);
    const callId = await answeredCall(gus, hal, 'k-hal');
    assert.ok(callId.startsWith('c4.'));
    // SIGSTOP: the process is alive but silent, as in a long pause; its liveness expires.
    process.kill(c4.child.pid, 'SIGSTOP');
    try {
      const ended = await hal.next(of('call:ended', callId), 10_000).catch(withLogs);
      assert.equal(ended.data.reason, 'node_lost');
      await hal.next(of('call:record', callId), 5000);
    } finally {
      process.kill(c4.child.pid, 'SIGCONT');
    }
    // Awake, it hears it was taken for dead: its client is told to connect again…
    const closed = await gus.waitClose(10_000);
    assert.equal(closed.code, 1012, c4.child.tail());
    // …and the call it still had is gone from it: hal is not busy, and gus can call again.
    const again = await client(c4.port, 'k-gus', opened);
    await fullCall(again, hal, 'k-hal', 5000).catch(withLogs);
    assert.equal((await rowOf(callId)).end_reason, 'node_lost', 'the record stays as finalised');
  });
});

describe('the node holding a meeting’s media room killed (meetings on one node)', () => {
  // Pinned to the forwarding path (PARLEY_CLUSTER_MEETINGS_SPAN=0): only there does a meeting
  // have one media room that a node takes with it when it dies. Meetings spanning the nodes
  // (the default, above) lose only the dead node's peers.
  let nodes: ChaosNode[] = [];
  const opened: TestClient[] = [];
  let cluster: ChaosCluster | undefined;

  before(async () => {
    cluster = await chaosCluster('chaos-room');
    nodes = await startNodes(cluster, ['f1', 'f2'], { PARLEY_CLUSTER_MEETINGS_SPAN: '0' });
  });

  after(async () => {
    for (const c of opened) c.close();
    await stopNodes(nodes, cluster);
  });

  test('its peers on other nodes hear rtc:mediaReset (node_lost) and rejoin, on a live node', async () => {
    const [f1, f2] = nodes as [ChaosNode, ChaosNode];
    const withLogs = withLogsOf(nodes);
    const alice = await client(f1.port, 'f-alice', opened);
    const bob = await client(f2.port, 'f-bob', opened);
    // alice's join opens the media room on f1; bob's rtc:* go there from f2.
    const meetingId = await meeting(f2.port, 'f-alice', 'f-bob');
    for (const c of [alice, bob]) {
      await ok(c, 'rtc:getRouterRtpCapabilities', { meetingId });
      await ok(c, 'rtc:join', { meetingId });
    }
    process.kill(f1.child.pid, 'SIGKILL');
    const reset = await bob.next((f) => f.type === 'rtc:mediaReset', 10_000).catch(withLogs);
    assert.deepEqual([reset.data.meetingId, reset.data.reason], [meetingId, 'node_lost']);
    await ok(bob, 'rtc:getRouterRtpCapabilities', { meetingId }).catch(withLogs);
    const rejoined = await ok(bob, 'rtc:join', { meetingId });
    assert.equal(typeof (rejoined.data as { peerId: string }).peerId, 'string');
  });
});

/** A redis-server of this test's own on `port`; resolves once it answers. */
async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await new Promise<void>((resolve, reject) => {
    proc.once('error', (err) =>
      reject(new Error(`redis-server is needed (apt-get install redis-server): ${err.message}`)),
    );
    proc.once('spawn', () => resolve());
  });
  await waitForPort(port);
  // Something else may hold the port (it answered waitForPort): redis-server then exits at once.
  await new Promise((r) => setTimeout(r, 100));
  if (proc.exitCode !== null) throw new Error(`redis-server exited: address already in use?`);
  return proc;
}

async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

describe('Redis restarts under traffic', () => {
  const apps: App[] = [];
  const opened: TestClient[] = [];
  let redisProc: ChildProcess;
  let redisPort: number;
  let pg: Awaited<ReturnType<typeof createSchema>>;
  let dataDir: string;

  before(async () => {
    redisProc = await onFreePort(async (port) => {
      const proc = await startRedis(port);
      redisPort = port;
      return proc;
    });
    pg = await createSchema();
    dataDir = mkdtempSync(join(tmpdir(), 'parley-redis-restart-'));
    for (const id of ['r1', 'r2']) {
      const config = loadConfig(
        { PARLEY_JWT_SECRET: JWT_SECRET },
        {
          server: { port: 0 },
          dataDir: join(dataDir, id),
          databaseUrl: pg.url,
          redisUrl: `redis://127.0.0.1:${redisPort}`,
          calls: { disconnectGraceMs: 200 },
          cluster: { nodeId: id, prefix: 'restart', ...FAST_CLUSTER },
        },
      );
      const app = await createApp(config, {
        log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      });
      await app.listen();
      apps.push(app);
    }
  });

  after(async () => {
    for (const c of opened) c.close();
    await Promise.all(apps.map((a) => a.close()));
    if (redisProc) await stopRedis(redisProc);
    await pg?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const portOf = (app: App) => (app.server.address() as { port: number }).port;

  test('nodes keep serving their own users, then reconnect and re-register by themselves', async () => {
    const [r1, r2] = apps as [App, App];
    const alice = await client(portOf(r1), 'rr-alice', opened);
    const bob = await client(portOf(r2), 'rr-bob', opened);
    const carol = await client(portOf(r1), 'rr-carol', opened);
    const dave = await client(portOf(r1), 'rr-dave', opened);
    const live = await answeredCall(alice, bob, 'rr-bob');

    await stopRedis(redisProc);
    // Down: both nodes keep running and a call between two users of one node works.
    await fullCall(carol, dave, 'rr-dave');
    const health = (await (await fetch(`http://127.0.0.1:${portOf(r1)}/healthz`)).json()) as Frame;
    assert.equal(health.cluster.redis, 'down');
    // Long enough for every liveness key to have expired, had Redis kept them.
    await new Promise((r) => setTimeout(r, FAST_CLUSTER.nodeTtlMs));
    await fullCall(dave, carol, 'rr-carol');

    redisProc = await startRedis(redisPort);
    // Back (empty): presence, liveness and the call index come back without help.
    const until = Date.now() + 10_000;
    for (;;) {
      const h = (await (await fetch(`http://127.0.0.1:${portOf(r2)}/healthz`)).json()) as Frame;
      if (h.cluster.redis === 'up') break;
      assert.ok(Date.now() < until, 'node r2 did not reconnect');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 2 * FAST_CLUSTER.heartbeatMs));

    // The call from before the restart still relays and ends cleanly (not stuck).
    alice.send({ type: 'call:offer', data: { callId: live, sdp: 'v=0 after' } });
    assert.equal((await bob.next(of('call:offer', live))).data.sdp, 'v=0 after');
    const busy = await ok(carol, 'call:invite', { callee: 'rr-bob', media: 'audio' });
    const busyId = (busy.data as { callId: string }).callId;
    assert.equal((await carol.next(of('call:ended', busyId))).data.reason, 'busy');
    await ok(bob, 'call:hangup', { callId: live });
    assert.equal((await alice.next(of('call:ended', live))).data.reason, 'hangup');
    await alice.next(of('call:record', live));

    // New calls across the nodes, both ways.
    await fullCall(alice, bob, 'rr-bob');
    await fullCall(bob, dave, 'rr-dave');
  });
});
