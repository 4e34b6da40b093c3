import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ChildNodes, type ChildNode } from '../child-nodes.ts';
import {
  FAST_CLUSTER,
  REDIS_URL,
  createSchema,
  dropKeys,
  requireRedis,
  uniqueName,
} from '../cluster-harness.ts';
import { ok, until, type TestClient } from '../harness.ts';
import { answeredCall } from '../store-fault-kit.ts';
import { WebhookReceiver } from '../webhook-receiver.ts';

/**
 * The webhook deliverer's lease across failures of child-process nodes sharing Redis and
 * PostgreSQL: a holder that stalls past its lease with a round already read sends nothing of
 * it once it wakes (the lease is fenced); a holder killed with -9 while events are pending is
 * succeeded by another node, which delivers them all, in order; and the killed node's users
 * go offline (one user.offline each, cluster-wide, only for those left with no device).
 */

const LEASE_MS = 1500;
/** Long enough that a node stopped for a few seconds is not taken for dead. */
const NODE_TTL_MS = 15_000;
const ORDER = ['call.ringing', 'call.accepted', 'call.ended'];

describe('webhook deliverers across stalls and deaths of child-process nodes', () => {
  let receiver: WebhookReceiver;
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let prefix: string;
  let dataDir: string;
  let redis: Redis;
  let nodes: ChildNodes;
  /** The running nodes by id. */
  const running = new Map<string, ChildNode>();
  const stopped = new Set<number>();
  const leaseKey = () => `${prefix}:lease:webhooks:default`;

  before(async () => {
    await requireRedis();
    receiver = await WebhookReceiver.start(`whsec_${randomBytes(24).toString('base64')}`);
    schema = await createSchema();
    prefix = uniqueName('hookfail');
    dataDir = mkdtempSync(join(tmpdir(), 'parley-hook-failover-'));
    redis = new Redis(REDIS_URL);
    // Nobody delivers until a test lets them: a node that does not exist holds the lease.
    await redis.set(leaseKey(), 'ghost 0');
    nodes = new ChildNodes(dataDir, () => ({
      DATABASE_URL: schema.url,
      REDIS_URL,
      PARLEY_CLUSTER_PREFIX: prefix,
      PARLEY_CLUSTER_HEARTBEAT_MS: String(FAST_CLUSTER.heartbeatMs),
      PARLEY_CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS),
      PARLEY_CLUSTER_JANITOR_MS: String(FAST_CLUSTER.janitorIntervalMs),
      PARLEY_DISCONNECT_GRACE_MS: '200',
      PARLEY_WEBHOOK_URL: receiver.url,
      PARLEY_WEBHOOK_SECRET: receiver.secret,
      PARLEY_WEBHOOK_RETRY_MIN_MS: '100',
      PARLEY_WEBHOOK_RETRY_MAX_MS: '400',
      PARLEY_WEBHOOK_POLL_MS: '50',
      PARLEY_WEBHOOK_LEASE_MS: String(LEASE_MS),
    }));
    // One at a time: the first runs the migrations.
    for (const id of ['w1', 'w2', 'w3']) {
      running.set(
        id,
        await nodes.start({ PARLEY_NODE_ID: id, PARLEY_DATA_DIR: join(dataDir, id) }),
      );
    }
  });

  after(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await nodes?.close();
    await schema?.drop();
    if (prefix) await dropKeys(prefix);
    redis?.disconnect();
    await receiver?.down();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The node holding the endpoint's lease (its value is `<node> <token>`). */
  const holder = async () => (await redis.get(leaseKey()))?.split(' ')[0];
  const types = (callId: string) => receiver.of('callId', callId).map((d) => d.event.type);
  const distinct = (callId: string) =>
    WebhookReceiver.distinct(receiver.of('callId', callId)).map((d) => d.event.type);
  /** Every delivery of the call is its event before or the next: it never goes back. */
  const assertInOrder = (callId: string) => {
    const seq = types(callId).map((t) => ORDER.indexOf(t));
    assert.ok(
      seq.every((n, i) => i === 0 || n >= seq[i - 1]!),
      `${callId} arrived in order: ${types(callId).join(', ')}`,
    );
  };
  const allDelivered = (callIds: readonly string[]) => () =>
    callIds.every((id) => distinct(id).length >= ORDER.length) ? true : undefined;
  /** Rethrows with the nodes' recent logs. */
  const withLogs = (err: unknown): never => {
    const logs = [...running].map(([id, n]) => `--- ${id}\n${n.child.tail()}`).join('\n');
    throw new Error(`${(err as Error).message}\n${logs}`);
  };

  /** `n` calls made on the node at `port`, each answered and hung up; their ids. */
  async function calls(port: number, tag: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = await nodes.client(port, `${tag}-a${i}`);
      const b = await nodes.client(port, `${tag}-b${i}`);
      const callId = await answeredCall(a, b, `${tag}-b${i}`);
      await ok(a, 'call:hangup', { callId });
      out.push(callId);
    }
    return out;
  }

  test('a holder stalled past its lease wakes with a round read before its successor took over, and sends none of it', async () => {
    const db = new pg.Client({ connectionString: schema.url });
    await db.connect();
    try {
      const [, first] = [...running][0]!;
      const made = await calls(first.port, 's', 2);
      await until('the calls’ events committed', async () => {
        const { rows } = await db.query<{ n: number }>(
          "select count(*)::int as n from webhook_outbox where type = 'call.ended' and stream = any($1)",
          [made.map((id) => `call:${id}`)],
        );
        return rows[0]!.n === made.length ? true : undefined;
      });
      // The outbox is locked; the lease is let go: the node that takes it reads its first
      // round, which waits for the lock.
      await db.query('begin');
      await db.query('lock table webhook_outbox in access exclusive mode');
      await redis.del(leaseKey());
      await until('a round waiting for the outbox', async () => {
        const { rows } = await db.query<{ n: number }>(
          "select count(*)::int as n from pg_locks where relation = 'webhook_outbox'::regclass and not granted",
        );
        return rows[0]!.n > 0 ? true : undefined;
      }).catch(withLogs);
      const stalledId = (await holder())!;
      const stalled = running.get(stalledId)!;
      // It stalls (its whole process stopped) and its round is read meanwhile: the answer
      // waits in its socket, to be taken when it wakes.
      process.kill(stalled.child.pid, 'SIGSTOP');
      stopped.add(stalled.child.pid);
      await db.query('commit');

      // Its lease lapses; another node takes it and delivers every event, in order.
      await until('a successor', async () => {
        const h = await holder();
        return h !== undefined && h !== stalledId ? h : undefined;
      }).catch(withLogs);
      await until('every event delivered by the successor', allDelivered(made), 30_000).catch(
        withLogs,
      );
      // It wakes with the round it read: the lease is no longer its own, so it sends none of
      // it (unfenced, it would send each call's call.ringing again, after its call.ended).
      process.kill(stalled.child.pid, 'SIGCONT');
      stopped.delete(stalled.child.pid);
      await until(
        'the stalled node fenced, or its round sent',
        () =>
          stalled.child.tail().includes('webhook_lease_fenced') ||
          made.some((id) => types(id).length > ORDER.length)
            ? true
            : undefined,
        30_000,
      ).catch(withLogs);
      for (const id of made) {
        assertInOrder(id);
        assert.deepEqual(distinct(id), ORDER);
      }
      assert.ok(receiver.deliveries.every((d) => d.verified));
    } finally {
      await db.end();
    }
  });

  test('the holder killed -9 with events pending: another node delivers them all, in order; its users go offline once', async () => {
    const victimId = await until('a holder', holder);
    const victim = running.get(victimId)!;
    const [, other] = [...running].find(([id]) => id !== victimId)!;
    // carol is only on the holder; dave is on it and on another node.
    await nodes.client(victim.port, 'carol');
    await nodes.client(victim.port, 'dave');
    const daveElsewhere: TestClient = await nodes.client(other.port, 'dave');
    const online = (userId: string) =>
      receiver.deliveries.some(
        (d) => d.event.type === 'user.online' && d.event.data.userId === userId,
      );
    await until('carol and dave online', () =>
      online('carol') && online('dave') ? true : undefined,
    ).catch(withLogs);

    // The endpoint refuses: the holder tries the calls' first events and keeps them pending.
    receiver.refuse = true;
    const made = await calls(other.port, 'k', 2);
    const tried = (callId: string) =>
      receiver.refused.some(
        (b) => (JSON.parse(b) as { data: { callId?: string } }).data.callId === callId,
      );
    await until('the holder tried each call', () => (made.every(tried) ? true : undefined));
    assert.equal(await holder(), victimId, 'the holder tried them');
    process.kill(victim.child.pid, 'SIGKILL');
    await victim.child.stop(0);
    running.delete(victimId);
    receiver.refuse = false;

    await until('another node took the lease', async () => {
      const h = await holder();
      return h !== undefined && h !== victimId ? h : undefined;
    }).catch(withLogs);
    await until('every pending event delivered', allDelivered(made), 30_000).catch(withLogs);
    for (const id of made) {
      assertInOrder(id);
      assert.deepEqual(distinct(id), ORDER);
    }

    // The dead node's janitor: carol has no device left (user.offline), dave has one.
    const offline = (userId: string) =>
      WebhookReceiver.distinct(
        receiver.deliveries.filter(
          (d) => d.event.type === 'user.offline' && d.event.data.userId === userId,
        ),
      );
    await until(
      'carol offline',
      () => (offline('carol').length > 0 ? true : undefined),
      60_000,
    ).catch(withLogs);
    assert.equal(offline('dave').length, 0, 'dave still has a device');
    // dave's last device goes: his user.offline comes after the janitor's work on every node.
    daveElsewhere.close();
    await until(
      'dave offline',
      () => (offline('dave').length > 0 ? true : undefined),
      30_000,
    ).catch(withLogs);
    assert.equal(offline('carol').length, 1, 'one user.offline for carol, cluster-wide');
    assert.equal(offline('dave').length, 1, 'and dave’s only when his last device went');
    assert.ok(receiver.deliveries.every((d) => d.verified));
  });
});
