import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSchema } from '../cluster-harness.ts';
import { CallLoad } from './call-load.ts';
import { ParleyNode, token } from './node.ts';
import { checkRecords, untilFinalised } from './records.ts';
import { freePort } from '../cluster-harness.ts';
import { fillUp, lockSqlite, privatePostgres, tinyFilesystem } from '../store-fault-kit.ts';
import { privateRedis } from './services.ts';

/** How big and how long a fault run is. */
export interface FaultOptions {
  /** Caller/callee pairs churning calls during the fault. */
  pairs: number;
  /** How long a store fault lasts (locked, full, stopped), ms. */
  faultMs: number;
  /** Live calls when SIGTERM arrives. */
  liveCalls: number;
  /** Churn before the fault, ms (the baseline latency is measured there). */
  warmMs: number;
}

/** What one fault did to calls and records. */
export interface Figures {
  scenario: string;
  /** Calls ringing or live when the fault began. */
  inProgress: number;
  /** Calls the server acknowledged during the run, and how many of them have an ended record. */
  promised: number;
  finalised: number;
  /** Acknowledged calls with no ended record after recovery: must be 0. */
  lost: number;
  /** Relay latency of ICE frames before the fault, and from its start until recovery. */
  baselineP99: number;
  faultP99: number;
  faultP50: number;
  /** From the end of the fault until the node serves calls and every earlier record is in. */
  recoverMs: number;
  /** Finalised records by end reason. */
  reasons: Record<string, number>;
}

const runId = () => `f${randomBytes(3).toString('hex')}`;

/** Churn through `nodes` (callers on the first, callees on the last), with the driver's timings. */
function churn(nodes: ParleyNode[], o: FaultOptions, callMs: [number, number] = [1000, 4000]) {
  return new CallLoad({
    pairs: o.pairs,
    base: (role) => (role === 'caller' ? nodes[0]! : nodes[nodes.length - 1]!).ws,
    token,
    prefix: runId(),
    iceHz: 5,
    callMs,
  });
}

/** Resolves once a call is accepted after `since` (the node serves calls again). */
async function untilServing(load: CallLoad, since: number, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  while (!load.accepted.some((t) => t > since)) {
    if (performance.now() - t0 > timeoutMs) throw new Error('no call connected after the fault');
    await sleep(50);
  }
  return performance.now() - since;
}

/**
 * The common shape of a fault under churn: warm up, break something, wait, mend it, then
 * measure how long until calls connect again and every call acknowledged before the mend has
 * its ended record; finally stop the churn and check every record of the run.
 */
async function underChurn(
  scenario: string,
  nodes: ParleyNode[],
  o: FaultOptions,
  fault: { break(): void | Promise<void>; mend(): Promise<void> },
): Promise<Figures> {
  const load = churn(nodes, o);
  load.start();
  try {
    await load.untilLive(Math.ceil(o.pairs / 2));
    const warmFrom = performance.now();
    await sleep(o.warmMs);
    const base = load.latency(warmFrom);
    const t0 = performance.now();
    const inProgress = load.inProgress;
    await fault.break();
    await fault.mend();
    const mended = performance.now();
    // Every call acknowledged before the fault has ended by now (hung up, or cut off by it).
    const before = [...load.promised.values()].filter((c) => c.promisedAt < t0);
    const [servingMs, storedMs] = await Promise.all([
      untilServing(load, mended),
      // A record still missing a minute after the fault is counted as lost below.
      untilFinalised(nodes[0]!.http, before, token, 60_000).then(
        () => performance.now() - mended,
        () => NaN,
      ),
    ]);
    const recoverMs = Math.max(servingMs, storedMs);
    const during = load.latency(t0, mended + recoverMs);
    await sleep(2000);
    await load.stop();
    return await figures(scenario, nodes[0]!, load, {
      inProgress,
      baselineP99: base.p99,
      faultP99: during.p99,
      faultP50: during.p50,
      recoverMs,
    });
  } finally {
    await load.freeze();
  }
}

async function figures(
  scenario: string,
  node: ParleyNode,
  load: CallLoad,
  f: Pick<Figures, 'inProgress' | 'baselineP99' | 'faultP99' | 'faultP50' | 'recoverMs'>,
): Promise<Figures> {
  const calls = [...load.promised.values()];
  // The last records may still be on their way to the store: give them the time a store
  // that just came back needs, then count what is missing.
  await untilFinalised(node.http, calls, token, 30_000).catch(() => undefined);
  const check = await checkRecords(node.http, calls, token);
  return {
    scenario,
    ...f,
    promised: calls.length,
    finalised: check.finalised,
    lost: check.lost.length,
    reasons: check.reasons,
  };
}

/** kill -9 of a single node mid-call, then a restart on the same data directory. */
export async function kill9(o: FaultOptions): Promise<Figures> {
  const node = await ParleyNode.create();
  await node.start();
  try {
    return await underChurn('kill -9 + restart (SQLite)', [node], o, {
      break: () => node.kill(),
      mend: async () => {
        await sleep(1000);
        await node.start();
      },
    });
  } finally {
    await node.remove();
  }
}

/** SQLite's write lock held by another process for the fault's length. */
export async function sqliteLocked(o: FaultOptions): Promise<Figures> {
  const node = await ParleyNode.create();
  await node.start();
  let lock: { release(): Promise<void> } | undefined;
  try {
    return await underChurn(`SQLite locked ${o.faultMs / 1000} s`, [node], o, {
      break: async () => {
        lock = await lockSqlite(join(node.dataDir, 'parley.sqlite'));
      },
      mend: async () => {
        await sleep(o.faultMs);
        await lock?.release();
      },
    });
  } finally {
    await node.remove();
  }
}

/** The data directory's disk full for the fault's length, then freed. */
export async function diskFull(o: FaultOptions): Promise<Figures> {
  const disk = tinyFilesystem(64 * 1024);
  const node = await ParleyNode.create({}, join(disk.dir, 'data'));
  await node.start();
  let filler = '';
  try {
    return await underChurn(`disk full ${o.faultMs / 1000} s`, [node], o, {
      break: () => void (filler = fillUp(disk.dir)),
      mend: async () => {
        await sleep(o.faultMs);
        rmSync(filler);
      },
    });
  } finally {
    await node.remove();
    disk.remove();
  }
}

/** The node's PostgreSQL (a private cluster) stopped under traffic, then started again. */
export async function postgresDown(o: FaultOptions): Promise<Figures> {
  const pg = await privatePostgres(await freePort());
  const node = await ParleyNode.create({ DATABASE_URL: pg.url });
  try {
    await node.start();
    return await underChurn(`PostgreSQL stopped ${o.faultMs / 1000} s`, [node], o, {
      break: () => pg.stop(),
      mend: async () => {
        await sleep(o.faultMs);
        await pg.start();
      },
    });
  } finally {
    await node.remove();
    await pg.remove();
  }
}

/** Redis (a private one) killed and restarted under traffic between two cluster nodes. */
export async function redisRestart(o: FaultOptions): Promise<Figures> {
  const redis = await privateRedis();
  const schema = await createSchema();
  const prefix = runId();
  const env = (id: string) => ({
    REDIS_URL: redis.url,
    DATABASE_URL: schema.url,
    PARLEY_NODE_ID: `${prefix}${id}`,
    PARLEY_CLUSTER_PREFIX: prefix,
  });
  const nodes = [await ParleyNode.create(env('a')), await ParleyNode.create(env('b'))];
  try {
    for (const n of nodes) await n.start();
    return await underChurn('Redis restarted (2 nodes)', nodes, o, {
      break: () => redis.kill(),
      mend: async () => {
        await sleep(5000);
        await redis.start();
      },
    });
  } finally {
    for (const n of nodes) await n.remove();
    await redis.kill();
    await schema.drop();
  }
}

/**
 * SIGTERM with `liveCalls` calls live: how long the node takes to stop, and whether every call
 * was ended (`shutdown`) and recorded (checked after a restart on the same data directory).
 */
export async function sigterm(o: FaultOptions): Promise<Figures> {
  const node = await ParleyNode.create();
  await node.start();
  const load = new CallLoad({
    pairs: o.liveCalls,
    base: () => node.ws,
    token,
    prefix: runId(),
    iceHz: 0.5,
    callMs: [Infinity, Infinity],
  });
  try {
    load.start();
    await load.untilLive(o.liveCalls, 300_000);
    const warmFrom = performance.now();
    await sleep(o.warmMs);
    const base = load.latency(warmFrom);
    const inProgress = load.inProgress;
    const stopMs = await node.terminate();
    await load.freeze();
    await node.start();
    return await figures(`SIGTERM with ${o.liveCalls} live calls`, node, load, {
      inProgress,
      baselineP99: base.p99,
      faultP99: NaN,
      faultP50: NaN,
      recoverMs: stopMs,
    });
  } finally {
    await load.freeze();
    await node.remove();
  }
}

/** Every scenario by the name `--only` takes. */
export const SCENARIOS = {
  kill9,
  sigterm,
  'sqlite-locked': sqliteLocked,
  'disk-full': diskFull,
  postgres: postgresDown,
  redis: redisRestart,
} as const satisfies Record<string, (o: FaultOptions) => Promise<Figures>>;
