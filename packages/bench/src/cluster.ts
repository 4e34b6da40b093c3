import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthenticator, ConfigError, loadConfig } from '@parley/server';
import { ICE_PER_SIDE } from './calls.ts';
import {
  buildParley,
  builtEnv,
  cpuMicros,
  freePort,
  parleyEnv,
  startParley,
  type ServerChild,
} from './children.ts';
import { LOCAL_SERVICES, openScratch, servicesProblem } from './scratch.ts';
import { parleyTarget, runRelay, type RelayPair, type RelayResult } from './relay.ts';
import { fmtDec, fmtInt, fmtMs, pooled, table, type Latency } from './stats.ts';

/** Pairs of the latency measurement (each on its own). */
const LIGHT_PAIRS = 10;
/** Pause between a loaded trial and a latency measurement, ms. */
const SETTLE_MS = 500;

/**
 * `parley bench-cluster`: what crossing nodes costs the relay. Two Parley nodes run as child
 * processes in cluster mode (Redis and PostgreSQL from REDIS_URL and DATABASE_URL, by default
 * the local ones; a fresh schema and key prefix, removed afterwards). The same relay workload
 * as `parley bench` (renegotiations with ICE trickle between pairs in accepted calls) runs with
 * both parties of every pair on one node, and with the caller on one node and the callee on
 * the other, in alternating trials of one run: throughput with every pair exchanging at
 * once, latency with one pair exchanging at a time (so that it is the hops and not the
 * queues behind other pairs, which on two cores vary more from run to run than the hop
 * costs); the medians over the trials are reported. The nodes talk over their direct links,
 * or with `links: false` (`--no-links`) through Redis alone.
 *
 * Targets: across nodes at least 0.7× the one-node throughput, and at most 0.5 ms more at p50.
 * Limits are the defaults (rate limiting on); as in `parley bench`, each user's share of a
 * trial fits in its burst and the next trial waits for the refill.
 */

export interface ClusterBenchOptions {
  /** Pairs per placement (default 500). */
  pairs?: number;
  /** Trials per placement, alternating (default 5). */
  trials?: number;
  /** Direct links between the nodes (default); false: every message through Redis. */
  links?: boolean;
  redisUrl?: string;
  databaseUrl?: string;
  json?: boolean;
  print?: (line: string) => void;
}

/** One placement's figures: medians over its trials. */
export interface PlacementFigures {
  /** Relay throughput with every pair exchanging at once. */
  msgsPerSec: number;
  /** p99 latency at that load, ms. */
  loadedP99Ms: number;
  /** Latency with one pair at a time, ms. */
  p50Ms: number;
  p99Ms: number;
  /** CPU of both Parley nodes per relayed message, µs. */
  cpuUsPerMsg?: number;
  trials: number[];
}

export interface ClusterBenchResult {
  cores: number;
  links: boolean;
  pairs: number;
  exchanges: number;
  oneNode: PlacementFigures;
  twoNodes: PlacementFigures;
  /** Two-node throughput over one-node throughput. */
  ratio: number;
  /** Added p50 latency across nodes, one pair at a time, ms. */
  addedP50Ms: number;
  targets: { throughput: boolean; latency: boolean };
}

async function requireServices(redisUrl: string, databaseUrl: string): Promise<void> {
  const problem = await servicesProblem(redisUrl, databaseUrl);
  if (problem) throw new ConfigError(`bench-cluster needs ${problem}`);
}

/** Runs the cluster benchmark, prints the report and returns the figures. */
export async function runClusterBench(opts: ClusterBenchOptions = {}): Promise<ClusterBenchResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const pairs = opts.pairs ?? 500;
  const trials = opts.trials ?? 5;
  const redisUrl = opts.redisUrl ?? LOCAL_SERVICES.redisUrl;
  const databaseUrl = opts.databaseUrl ?? LOCAL_SERVICES.databaseUrl;
  await requireServices(redisUrl, databaseUrl);

  const tag = randomBytes(3).toString('hex');
  const scratch = await openScratch(redisUrl, databaseUrl, 'bench');
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-cluster-'));
  const secret = randomBytes(24).toString('base64url');
  const nodes: Array<{ child: ServerChild; ws: string }> = [];
  try {
    // The nodes run the build, as `npm start` runs a node, not the sources under tsx, whose
    // loader thread would be charged to each node's CPU (see buildParley).
    await buildParley();
    for (const id of ['b1', 'b2']) {
      const port = await freePort();
      const env = {
        ...parleyEnv({ port, dataDir: join(dataDir, id), secret }),
        DATABASE_URL: scratch.databaseUrl,
        REDIS_URL: redisUrl,
        PARLEY_NODE_ID: id,
        PARLEY_CLUSTER_PREFIX: scratch.prefix,
        PARLEY_CLUSTER_LINKS: opts.links === false ? '0' : '1',
      };
      nodes.push({ child: await startParley(builtEnv(env)), ws: `ws://127.0.0.1:${port}` });
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const config = loadConfig({ PARLEY_JWT_SECRET: secret });
    const auth = createAuthenticator(config);
    const mint = (userId: string) => auth.mint(userId, { ttlSec: 3600 });
    const { ratePerSec, rateBurst } = config.limits;
    const exchanges = Math.min(5, Math.floor((rateBurst - 2) / (1 + ICE_PER_SIDE)));
    const perUser = (n: number) => n * (1 + ICE_PER_SIDE);
    print(
      `Parley cluster bench: ${cpus().length} CPUs, Node ${process.version}; two nodes ` +
        `(pids ${a.child.pid}, ${b.child.pid}; the built server), Redis ${redisUrl}, PostgreSQL, ` +
        `${opts.links === false ? 'no direct links' : 'direct links'}; ` +
        `${pairs} pairs × ${exchanges} exchanges, ${trials} trials per placement`,
    );

    // Each placement has a loaded set of pairs (throughput) and a light one (latency), whose
    // pairs take turns.
    const placements = [
      { name: 'one node', target: parleyTarget(a.ws, mint, undefined, a.ws, 'one node') },
      { name: 'two nodes', target: parleyTarget(a.ws, mint, undefined, b.ws, 'two nodes') },
    ].map((p, i) => ({
      ...p,
      tag: `${tag}${i}`,
      loaded: { pairs: [] as RelayPair[], runs: [] as RelayResult[], refilledAt: 0 },
      light: { pairs: [] as RelayPair[], runs: [] as Latency[], refilledAt: 0 },
      cpu: [] as number[],
    }));
    type Set = { pairs: RelayPair[]; refilledAt: number };
    const pids = nodes.map((n) => n.child.pid);
    const cpu = () => pids.reduce((s, pid) => s + (cpuMicros(pid) ?? NaN), 0);
    /** When the buckets of a set's users are full again after `n` exchanges ending `at`. */
    const refilled = (at: number, n: number) => at + (perUser(n) / ratePerSec) * 1000 + 100;
    const trial = async (p: (typeof placements)[0], set: Set, n: number) => {
      await sleep(Math.max(0, set.refilledAt - performance.now()));
      const c0 = cpu();
      const r = await runRelay(p.target, set.pairs, n);
      set.refilledAt = refilled(r.endedAt, n);
      return { r, cpuUs: cpu() - c0 };
    };
    /** The latencies of the set's pairs, each exchanging on its own. */
    const inTurn = async (p: (typeof placements)[0], set: Set, n: number) => {
      // After a loaded trial, the nodes' collection of its garbage is not what is measured.
      await sleep(Math.max(SETTLE_MS, set.refilledAt - performance.now()));
      const runs = [];
      for (const pair of set.pairs) runs.push(await runRelay(p.target, [pair], n));
      set.refilledAt = refilled(runs.at(-1)!.endedAt, n);
      return pooled(runs);
    };
    try {
      for (const p of placements) {
        p.loaded.pairs = await p.target.open(pairs, `${p.tag}l`);
        p.light.pairs = await p.target.open(LIGHT_PAIRS, `${p.tag}s`);
        await trial(p, p.loaded, 1); // JIT warm-up
        await inTurn(p, p.light, 1);
      }
      for (let k = 0; k < trials; k++) {
        for (const p of placements) {
          const { r, cpuUs } = await trial(p, p.loaded, exchanges);
          p.loaded.runs.push(r);
          p.cpu.push(cpuUs / r.messages);
          const l = await inTurn(p, p.light, exchanges);
          p.light.runs.push(l);
          print(
            `  ${p.name.padEnd(9)} trial ${k + 1}: ${fmtInt(r.steadyRate)} msgs/s ` +
              `(p99 ${fmtMs(r.latency.p99)} loaded); one pair at a time p50 ${fmtMs(l.p50)}, ` +
              `p99 ${fmtMs(l.p99)}`,
          );
        }
      }
    } finally {
      for (const p of placements) {
        for (const set of [p.loaded, p.light])
          if (set.pairs.length > 0) await p.target.close(set.pairs);
      }
    }

    const median = (xs: number[]) =>
      [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
    const figures = (p: (typeof placements)[0]): PlacementFigures => {
      const rates = p.loaded.runs.map((r) => r.steadyRate);
      const cpuUs = median(p.cpu);
      return {
        msgsPerSec: median(rates),
        loadedP99Ms: median(p.loaded.runs.map((r) => r.latency.p99)),
        p50Ms: median(p.light.runs.map((l) => l.p50)),
        p99Ms: median(p.light.runs.map((l) => l.p99)),
        ...(Number.isFinite(cpuUs) ? { cpuUsPerMsg: cpuUs } : {}),
        trials: rates,
      };
    };
    const one = figures(placements[0]!);
    const two = figures(placements[1]!);
    const ratio = two.msgsPerSec / one.msgsPerSec;
    const addedP50Ms = two.p50Ms - one.p50Ms;
    const result: ClusterBenchResult = {
      cores: cpus().length,
      links: opts.links !== false,
      pairs,
      exchanges,
      oneNode: one,
      twoNodes: two,
      ratio,
      addedP50Ms,
      targets: { throughput: ratio >= 0.7, latency: addedP50Ms <= 0.5 },
    };
    const mark = (ok: boolean) => (ok ? '✓' : '✗');
    const us = (v: number | undefined) => (v === undefined ? 'n/a' : `${fmtDec(v)} µs`);
    print('');
    const row = (name: string, f: PlacementFigures) => [
      name,
      fmtInt(f.msgsPerSec),
      fmtMs(f.loadedP99Ms),
      us(f.cpuUsPerMsg),
      fmtMs(f.p50Ms),
      fmtMs(f.p99Ms),
    ];
    print(
      table([
        ['relay', 'msgs/s', 'p99 loaded', 'node CPU/msg', 'p50 one pair', 'p99 one pair'],
        row('both parties on one node', one),
        row('parties on two nodes', two),
      ]),
    );
    print(
      `\n  two nodes / one node: ${ratio.toFixed(2)}× throughput (target ≥ 0.7× ` +
        `${mark(result.targets.throughput)}), ${addedP50Ms >= 0 ? '+' : ''}` +
        `${addedP50Ms.toFixed(2)} ms at p50 (target ≤ +0.5 ms ${mark(result.targets.latency)})`,
    );
    const warnings = nodes.reduce((n, x) => n + x.child.warnings(), 0);
    if (warnings > 0) print(`\nnote: the nodes logged ${warnings} warnings or errors`);
    if (opts.json) print(JSON.stringify(result));
    return result;
  } finally {
    await Promise.all(nodes.map((n) => n.child.stop()));
    await scratch.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
