import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { createAuthenticator, ConfigError, loadConfig, type Config } from '@parley/server';
import { CALLER_MESSAGES, ICE_PER_SIDE, runCalls, type CallsResult } from './calls.ts';
import {
  freePort,
  parleyEnv,
  buildParley,
  builtEnv,
  peerAvailable,
  pinClient,
  startParley,
  startPeerJs,
  type ServerChild,
} from './children.ts';
import {
  MESSAGES_PER_EXCHANGE,
  parleyTarget,
  peerJsTarget,
  runRelay,
  type RelayPair,
  type RelayResult,
  type RelayTarget,
} from './relay.ts';
import { fmtDec, fmtInt, fmtMs, pooled, table } from './stats.ts';
import { probeOpenCapacity, type OpenCapacity } from './open-capacity.ts';
import { openTargets, reportOpen, runOpenPhase, type OpenLoadFigures } from './open-phase.ts';
import type { OpenLoopOptions } from './open-loop.ts';
import { reportPath, runPathPhase, type PathFigures } from './path.ts';
import type { ClientKind } from './ws-client.ts';

/**
 * The parts of `parley bench`: complete calls, the relay at saturation, the open-loop regime,
 * and the servers' own work per relayed message without the kernel (`path`).
 */
export type Phase = 'calls' | 'relay' | 'open' | 'path';

/**
 * `parley bench`: how fast Parley runs complete calls, and how its relay compares with the
 * PeerJS server's on the same signaling traffic. A benchmark, not a test: it prints figures.
 *
 * Both servers run as child processes (this process is the load generator) so that each
 * one's CPU time can be read from /proc. Parley is started with `parley start` and its default
 * limits — authentication, frame validation and per-user rate limiting all on — over a fresh
 * SQLite store. PeerJS is `PeerServer` from the `peer` package with its defaults.
 *
 * Rate limiting (default 10 msg/s sustained, burst 40, per user) shapes the workload. At a
 * sustained 10/s, relaying 1.2× what PeerJS manages on one core (tens of thousands of msg/s)
 * would need several thousand users all sending at once, and a measurement that long. Instead
 * each user's share of a measurement fits inside its burst, so the limiter can never refuse a
 * message however fast the server goes, and the server, not the limiter, is the bottleneck:
 *  - complete calls: a caller sends 7 messages per call (invite, offer, 4 ICE, hangup), so a
 *    user takes part in at most ⌊40 / 7⌋ = 5 calls; the concurrent slots rotate over enough
 *    user groups for that;
 *  - relay: 1,000 pairs (2,000 users) in accepted calls all exchange at once (1,000–5,000
 *    messages in flight, enough to saturate either server); in a trial each user sends
 *    5 × (offer or answer + 4 ICE) = 25 messages, plus the invite or accept before the first
 *    and the hangup after the last: 25 + 2 ≤ 40. Before each Parley trial the bench waits
 *    until what the users sent last has refilled (2.5 s at 10/s after a trial; the PeerJS
 *    trial in between covers most of it), so every trial starts with a bucket at least as
 *    full as the first did.
 * PeerJS gets the same pairs, exchanges, message counts and payloads. The counts derive from
 * the configured limits, so a different PARLEY_RATE_BURST still yields a run within them, and
 * the server's own parley_rate_limited_total (printed at the end) shows that none was refused.
 *
 * Measurement: relay trials alternate Parley, PeerJS, Parley, … and each server's median trial
 * is reported, so that a burst of other load hits both alike; msgs/s is taken between the 10th
 * and 90th percentile of arrivals (no ramp). Latency percentiles are over every trial's
 * messages: one trial's p99 is a few hundred messages and varies more than the servers differ. With two or more CPUs the servers run pinned to
 * CPU 0 and this process to CPU 1 (taskset), else the scheduler now and then stacks them on one
 * core. Every figure comes with where the CPU went (server, load generator, kernel softirq
 * threads, other processes), and CPU per message gives a comparison that other load does not
 * skew.
 */

export interface BenchOptions {
  /** Concurrent complete calls (default 500). */
  calls?: number;
  /** Calls each concurrent slot makes one after another (default 5). */
  rounds?: number;
  /** Connected pairs in the relay phase, for Parley and for PeerJS (default 1000). */
  pairs?: number;
  /** Relay trials per server, alternating between them (default 3). */
  trials?: number;
  /** Benchmark this running Parley server instead of starting one (CPU is then not measured). */
  url?: string;
  /** Compare with the PeerJS server (default true). */
  peerjs?: boolean;
  /** Also print one JSON line with every figure. */
  json?: boolean;
  /** Pin the servers to CPU 0 and the load generator to CPU 1 with taskset (default true). */
  pin?: boolean;
  /** Write V8 CPU profiles of the server children into this directory (PeerJS's in peerjs/). */
  cpuProf?: string;
  /** Which phases to run (default all; `open` with loads needs `relay` for the capacity). */
  phases?: readonly Phase[];
  /** Open loop: offered loads as fractions of the unbatched capacity (default 0.25, 0.5, 0.75). */
  loads?: readonly number[];
  /** Open loop: pair counts to run instead of loads. */
  openPairs?: readonly number[];
  /** Open loop: load generators (default both, the lean one and `ws`). */
  openClients?: readonly ClientKind[];
  /** Open loop: trials per server and cell, alternating (default 3). */
  openTrials?: number;
  /** Open loop: measured seconds per trial (default 5). */
  openSeconds?: number;
  /** Open loop: ICE messages each side of a pair sends per second (default 8). */
  iceRate?: number;
  /** Where lines go (default stdout). */
  print?: (line: string) => void;
}

/** Where the CPU went during a measurement, in % of one core. */
interface CpuShare {
  /** The server under test (absent when it is not our child). */
  serverPct?: number;
  /** This process, the load generator. */
  clientPct: number;
  /** The kernel's softirq threads: loopback network work deferred there (the bench's own). */
  softirqPct?: number;
  /** Everything else: other processes on the machine, competing for its cores. */
  otherPct?: number;
}

interface RelayFigures extends CpuShare {
  msgsPerSec: number;
  overallMsgsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  cpuUsPerMessage?: number;
  /**
   * Messages/s the server would relay on one whole core at its measured CPU cost (1e6 ÷ µs per
   * message): a comparison that other load on the machine does not skew.
   */
  perCoreMsgsPerSec?: number;
  elapsedMs: number;
  avgFrameBytesIn: number;
  avgFrameBytesOut: number;
}

/** Every figure of a run (the `--json` line). */
export interface BenchResult {
  server: string;
  cpuMeasured: boolean;
  /** CPUs of the server and of the load generator, when pinned. */
  pinned?: { server: number; loadGenerator: number };
  cores: number;
  limits: { ratePerSec: number; rateBurst: number };
  /** Parley's own counters over the whole run (a running server's: since it started). */
  serverCounts?: ServerCounts;
  calls?: CpuShare & {
    concurrent: number;
    perSlot: number;
    total: number;
    users: number;
    callsPerSec: number;
    /** Frames sent plus received by the clients, per second. */
    messagesPerSec: number;
    messagesPerCall: number;
    setupP50Ms: number;
    setupP99Ms: number;
    setupMaxMs: number;
    cpuUsPerMessage?: number;
    cpuUsPerCall?: number;
    /** Calls/s on one whole core at the measured CPU cost per call (1e6 ÷ µs per call). */
    perCoreCallsPerSec?: number;
    elapsedMs: number;
  };
  relay?: {
    pairs: number;
    exchanges: number;
    /** Messages per user per trial (the invite/accept and hangup come on top, once). */
    messagesPerUser: number;
    messages: number;
    trials: number;
    /** Steady msgs/s of every trial; the figures below are each server's median trial (latency: all trials). */
    parleyTrials: number[];
    peerjsTrials?: number[];
    parley: RelayFigures;
    peerjs?: RelayFigures;
    /** Parley msgs/s ÷ PeerJS msgs/s. */
    ratio?: number;
    /** The same on one whole core each (CPU-normalised). */
    perCoreRatio?: number;
  };
  /** The open-loop regime: one entry per load generator and offered load. */
  open?: {
    /** msgs/s that the loads are fractions of: the lower server's, unbatched (open-capacity.ts). */
    capacity?: number;
    /** How that capacity was measured, absent with `--open-pairs` or a running server (`--url`). */
    probe?: OpenCapacity;
    trials: number;
    loop: OpenLoopOptions;
    cells: OpenLoadFigures[];
  };
  /** The servers' own work per relayed message, without the kernel (path.ts). */
  path?: { trials: number; figures: PathFigures };
  targets: {
    callsPerSec?: boolean;
    relayRatio?: boolean;
    relayP99?: boolean;
    /** Every open-loop cell: CPU per message ≤ 0.9× PeerJS's and p99 no worse. */
    openCpu?: boolean;
    openP99?: boolean;
  };
}

const sleep = (ms: number) => (ms > 0 ? delay(ms) : Promise.resolve());

function share(
  r: { cpuUs?: number; clientCpuUs: number; machineCpuUs?: number; softirqCpuUs?: number },
  ms: number,
): CpuShare {
  const pct = (us: number) => us / 10 / ms;
  const irq = r.softirqCpuUs ?? 0;
  return {
    ...(r.cpuUs !== undefined ? { serverPct: pct(r.cpuUs) } : {}),
    clientPct: pct(r.clientCpuUs),
    ...(r.softirqCpuUs !== undefined ? { softirqPct: pct(irq) } : {}),
    ...(r.machineCpuUs !== undefined && r.cpuUs !== undefined
      ? { otherPct: Math.max(0, pct(r.machineCpuUs - r.cpuUs - r.clientCpuUs - irq)) }
      : {}),
  };
}

/** The three shares as `a / b / c / d %`. */
const shares = (v: CpuShare) =>
  [v.serverPct, v.clientPct, v.softirqPct, v.otherPct]
    .map((n) => (n === undefined ? 'n/a' : fmtInt(n)))
    .join(' / ') + ' %';

/** The median trial's rates and CPU, with latency over every trial's messages. */
function relayFigures(r: RelayResult, all: readonly RelayResult[]): RelayFigures {
  const lat = pooled(all);
  return {
    msgsPerSec: r.steadyRate,
    overallMsgsPerSec: r.overallRate,
    latencyP50Ms: lat.p50,
    latencyP99Ms: lat.p99,
    latencyMaxMs: lat.max,
    ...(r.cpuUs !== undefined
      ? { cpuUsPerMessage: r.cpuUs / r.messages, perCoreMsgsPerSec: (r.messages / r.cpuUs) * 1e6 }
      : {}),
    ...share(r, r.elapsedMs),
    elapsedMs: r.elapsedMs,
    avgFrameBytesIn: r.frames.bytesSent / r.frames.sent,
    avgFrameBytesOut: r.frames.bytesReceived / r.frames.received,
  };
}

function callFigures(
  c: CallsResult,
  concurrent: number,
  perSlot: number,
): NonNullable<BenchResult['calls']> {
  const frames = c.frames.sent + c.frames.received;
  return {
    concurrent,
    perSlot,
    total: c.calls,
    users: c.users,
    callsPerSec: (c.calls / c.elapsedMs) * 1000,
    messagesPerSec: (frames / c.elapsedMs) * 1000,
    messagesPerCall: frames / c.calls,
    setupP50Ms: c.setup.p50,
    setupP99Ms: c.setup.p99,
    setupMaxMs: c.setup.max,
    ...(c.cpuUs !== undefined
      ? {
          cpuUsPerMessage: c.cpuUs / frames,
          cpuUsPerCall: c.cpuUs / c.calls,
          perCoreCallsPerSec: (c.calls / c.cpuUs) * 1e6,
        }
      : {}),
    ...share(c, c.elapsedMs),
    elapsedMs: c.elapsedMs,
  };
}

function toWsBase(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString().replace(/\/+$/, '');
}

const positive = (name: string, v: number) => {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`--${name} must be a positive integer`);
  return v;
};

const secs = (ms: number) => `${fmtDec(ms / 1000)} s`;

/** What the server itself counted, from its /metrics (proof that nothing was refused). */
interface ServerCounts {
  rateLimited: number;
  errors: number;
  relayed: number;
  callsEnded: number;
}

async function serverCounts(httpBase: string): Promise<ServerCounts | undefined> {
  try {
    const res = await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    const sum = (name: string) => {
      let n = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
        n += Number(m[1]);
      return n;
    };
    return {
      rateLimited: sum('parley_rate_limited_total'),
      errors: sum('parley_errors_total'),
      relayed: sum('parley_messages_relayed_total'),
      callsEnded: sum('parley_calls_ended_total'),
    };
  } catch {
    return undefined;
  }
}

/** Runs the benchmark, prints the report, and returns every figure. */
export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const concurrent = positive('calls', opts.calls ?? 500);
  const perSlot = positive('rounds', opts.rounds ?? 5);
  const pairs = positive('pairs', opts.pairs ?? 1000);
  const trials = positive('trials', opts.trials ?? 3);
  const phases = new Set<Phase>(opts.phases ?? ['calls', 'relay', 'open', 'path']);
  const loads = opts.loads ?? [0.25, 0.5, 0.75];
  const openClients = opts.openClients ?? ['lean', 'ws'];
  const openTrials = positive('open-trials', opts.openTrials ?? 3);
  const openSeconds = positive('open-seconds', opts.openSeconds ?? 5);
  const iceRate = positive('ice-rate', opts.iceRate ?? 8);
  const withPeer = opts.peerjs !== false;
  if (withPeer && !peerAvailable())
    throw new ConfigError('the PeerJS comparison needs the `peer` package (or pass --no-peerjs)');
  const tag = `b${randomBytes(3).toString('hex')}`;

  // Pinning needs to know where the server runs: not with --url.
  const pin = opts.pin !== false && !opts.url ? pinClient() : undefined;
  const serverCpu = pin?.serverCpu;
  const children: ServerChild[] = [];
  let peerStarting: Promise<ServerChild | undefined> = Promise.resolve(undefined);
  let dataDir: string | undefined;
  const cleanup = async () => {
    await peerStarting.catch(() => undefined); // so that a child still starting is stopped too
    await Promise.all(children.splice(0).map((c) => c.stop()));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
    pin?.restore();
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ---- servers
    let config: Readonly<Config>;
    let wsBase: string;
    let parley: ServerChild | undefined;
    const peerPort = withPeer ? await freePort() : 0;
    if (withPeer) {
      peerStarting = startPeerJs(
        peerPort,
        2 * Math.max(pairs, 10_000), // the open-loop phase sizes its pairs from the capacity
        opts.cpuProf && join(opts.cpuProf, 'peerjs'),
        serverCpu,
      ).then((c) => (children.push(c), c));
      peerStarting.catch(() => {}); // reported where it is awaited
    }
    if (opts.url) {
      config = loadConfig();
      if (!config.auth.jwtSecret && !existsSync(join(config.dataDir, 'jwt-secret')))
        throw new ConfigError(
          '--url needs the server’s token secret: set PARLEY_JWT_SECRET ' +
            '(or PARLEY_CONFIG / PARLEY_DATA_DIR as the server has them)',
        );
      wsBase = toWsBase(opts.url);
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
      const port = await freePort();
      const env = parleyEnv({ port, dataDir, secret: randomBytes(24).toString('base64url') });
      config = loadConfig(env);
      await buildParley();
      parley = await startParley(builtEnv(env), opts.cpuProf, serverCpu);
      children.push(parley);
      wsBase = `ws://127.0.0.1:${port}`;
    }
    const peer = await peerStarting;

    const auth = createAuthenticator(config);
    const mint = (userId: string) => auth.mint(userId, { ttlSec: 3600 });
    const { ratePerSec, rateBurst } = config.limits;
    const callsPerUser = Math.floor(rateBurst / CALLER_MESSAGES);
    // Exchanges per relay trial: 5, or fewer if the burst is smaller (see the top comment).
    const exchanges = Math.min(5, Math.floor((rateBurst - 2) / (1 + ICE_PER_SIDE)));
    if (callsPerUser < 1 || exchanges < 1)
      throw new ConfigError(
        `a rate-limit burst of ${rateBurst} is too small for one call per user`,
      );

    print(
      `Parley bench: ${cpus().length} CPUs, Node ${process.version}; Parley ${
        parley
          ? `child pid ${parley.pid} (the built server, SQLite in a temp dir)`
          : `at ${opts.url}`
      }; rate limit ${ratePerSec}/s burst ${rateBurst} per user (on)`,
    );
    print(
      pin
        ? `  pinned: servers on CPU ${pin.serverCpu}, load generator on CPU ${pin.clientCpu}`
        : '  not pinned to CPUs',
    );
    if (!parley) print('  server CPU is not measured: the server is not a child of this process');

    // ---- phase 1: complete calls
    let calls: CallsResult | undefined;
    if (phases.has('calls')) {
      print(`\ncomplete calls: ${concurrent} concurrent, ${perSlot} after another each …`);
      calls = await runCalls({
        wsBase,
        mint,
        tag: `${tag}c`,
        calls: concurrent,
        rounds: perSlot,
        callsPerUser,
        ...(parley ? { pid: parley.pid } : {}),
      });
      print(
        `  ${fmtInt((calls.calls / calls.elapsedMs) * 1000)} calls/s ` +
          `(${fmtInt(calls.users)} users connected in ${secs(calls.setupMs)}, ran ${secs(calls.elapsedMs)})`,
      );
    }

    const targets: RelayTarget[] = [parleyTarget(wsBase, mint, parley?.pid)];
    if (peer) targets.push(peerJsTarget(`ws://127.0.0.1:${peerPort}`, peer.pid));
    const relay = phases.has('relay')
      ? await relayPhase(targets, { pairs, trials, exchanges, ratePerSec, tag, print })
      : undefined;

    // ---- phase 3: the open-loop regime, at fractions of the lower server's capacity
    let open: BenchResult['open'];
    if (phases.has('open')) {
      const batched = relay
        ? Math.min(relay.parley.msgsPerSec, relay.peerjs?.msgsPerSec ?? Infinity)
        : undefined;
      if (!batched && !opts.openPairs)
        throw new ConfigError(
          'the open-loop phase needs the relay phase (capacity) or --open-pairs',
        );
      const loop: OpenLoopOptions = {
        ratePerSide: iceRate,
        seconds: openSeconds,
        warmupSeconds: 1,
        drainMs: 3000,
      };
      print(
        `open loop: ${iceRate} ICE/s per side, ${openClients.join(' and ')} clients, ` +
          `${openTrials} trials per server …`,
      );
      const probe =
        batched && !opts.openPairs
          ? await probeOpenCapacity({ targets, batched, loop, tag: `${tag}c`, print })
          : undefined;
      // A running server's CPU is not ours to measure: its loads stay fractions of phase 2's.
      const capacity = opts.openPairs ? undefined : (probe?.capacity ?? batched);
      const cells = await runOpenPhase({
        targets,
        loads,
        ...(capacity ? { capacity } : {}),
        ...(opts.openPairs ? { pairs: opts.openPairs } : {}),
        clients: openClients,
        trials: openTrials,
        loop,
        tag: `${tag}o`,
        print,
      });
      open = {
        ...(capacity ? { capacity } : {}),
        ...(probe ? { probe } : {}),
        trials: openTrials,
        loop,
        cells,
      };
    }

    // ---- phase 4: each server's own work per message, without the kernel
    let path: { trials: number; figures: PathFigures } | undefined;
    if (phases.has('path')) {
      print(
        `\nthe servers' own work per relayed message, in-process, ${trials} trials per server …`,
      );
      // On the load generator's CPU: this process only waits now, and the idle servers' timers
      // stay on theirs.
      const figures = await runPathPhase({
        trials,
        peerjs: withPeer,
        ...(pin ? { cpu: pin.clientCpu } : {}),
        print,
      });
      path = { trials, figures };
    }

    // ---- report
    const counts = await serverCounts(wsBase.replace(/^ws/, 'http'));
    const openChecks = open?.cells.map(openTargets).filter((t) => t !== undefined);
    const result: BenchResult = {
      server: parley ? 'child' : opts.url!,
      cpuMeasured: parley !== undefined,
      ...(pin ? { pinned: { server: pin.serverCpu, loadGenerator: pin.clientCpu } } : {}),
      cores: cpus().length,
      limits: { ratePerSec, rateBurst },
      ...(counts ? { serverCounts: counts } : {}),
      ...(calls ? { calls: callFigures(calls, concurrent, perSlot) } : {}),
      ...(relay ? { relay } : {}),
      ...(open ? { open } : {}),
      ...(path ? { path } : {}),
      targets: {
        ...(calls ? { callsPerSec: (calls.calls / calls.elapsedMs) * 1000 >= 1000 } : {}),
        ...(relay?.peerjs
          ? {
              relayRatio: relay.ratio! >= 1.2,
              relayP99: relay.parley.latencyP99Ms <= relay.peerjs.latencyP99Ms,
            }
          : {}),
        ...(openChecks?.length
          ? {
              openCpu: openChecks.every((t) => t.cpu),
              openP99: openChecks.every((t) => t.p99),
            }
          : {}),
      },
    };
    report(result, print);
    const warnings = parley?.warnings() ?? 0;
    if (warnings > 0) {
      print(`\nnote: the Parley child logged ${warnings} warnings or errors, the first:`);
      for (const line of parley?.firstWarnings() ?? []) print(`  ${line}`);
    }
    if (opts.json) print(JSON.stringify(result));
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/**
 * Phase 2, the relay at saturation: trials alternating between the servers so that a burst of
 * other load on the machine hits both alike; each server's median trial is reported. The
 * pairs stay connected, in their accepted calls, from trial to trial (see the top comment).
 */
async function relayPhase(
  targets: readonly RelayTarget[],
  o: {
    pairs: number;
    trials: number;
    exchanges: number;
    ratePerSec: number;
    tag: string;
    print: (line: string) => void;
  },
): Promise<NonNullable<BenchResult['relay']>> {
  const { pairs, trials, exchanges, ratePerSec, tag, print } = o;
  const perUser = (n: number) => n * (1 + ICE_PER_SIDE); // messages a user sends in n exchanges
  const limited = targets[0]!;
  // When Parley's users may next send `perUser(exchanges)` messages without dipping below the
  // bucket level they started with: once what they last used has refilled.
  let refilledAt = 0;
  const relayOn = async (t: RelayTarget, ps: RelayPair[], n: number) => {
    if (t === limited) await sleep(refilledAt - performance.now());
    const r = await runRelay(t, ps, n);
    if (t === limited) refilledAt = r.endedAt + (perUser(n) / ratePerSec) * 1000 + 100;
    return r;
  };
  print(`relay: ${pairs} pairs × ${exchanges} exchanges, ${trials} trials per server …`);
  const open = new Map<RelayTarget, RelayPair[]>();
  const runs = new Map<RelayTarget, RelayResult[]>(targets.map((t) => [t, []]));
  try {
    for (const t of targets) {
      const s0 = performance.now();
      const ps = await t.open(pairs, `${tag}r${open.size}`);
      open.set(t, ps);
      await relayOn(t, ps, 1); // JIT warm-up: one exchange
      print(
        `  ${t.name.padEnd(6)} ${fmtInt(2 * pairs)} users connected and warmed up in ${secs(performance.now() - s0)}`,
      );
    }
    for (let k = 0; k < trials; k++) {
      for (const t of targets) {
        const r = await relayOn(t, open.get(t)!, exchanges);
        runs.get(t)!.push(r);
        print(
          `  ${t.name.padEnd(6)} trial ${k + 1}: ${fmtInt(r.steadyRate)} msgs/s, ` +
            `p99 ${fmtMs(r.latency.p99)} (${secs(r.elapsedMs)})`,
        );
      }
    }
  } finally {
    for (const [t, ps] of open) await t.close(ps);
  }
  const median = (rs: RelayResult[]) =>
    [...rs].sort((x, y) => x.steadyRate - y.steadyRate)[Math.floor((rs.length - 1) / 2)]!;
  const parleyRelay = median(runs.get(limited)!);
  const peerRelay = targets[1] ? median(runs.get(targets[1])!) : undefined;
  const pf = relayFigures(parleyRelay, runs.get(limited)!);
  const jf = peerRelay ? relayFigures(peerRelay, runs.get(targets[1]!)!) : undefined;
  return {
    pairs,
    exchanges,
    messagesPerUser: exchanges * (1 + ICE_PER_SIDE),
    messages: parleyRelay.messages,
    trials,
    parleyTrials: runs.get(limited)!.map((r) => r.steadyRate),
    ...(targets[1] ? { peerjsTrials: runs.get(targets[1])!.map((r) => r.steadyRate) } : {}),
    parley: pf,
    ...(jf ? { peerjs: jf, ratio: pf.msgsPerSec / jf.msgsPerSec } : {}),
    ...(jf?.perCoreMsgsPerSec && pf.perCoreMsgsPerSec
      ? { perCoreRatio: pf.perCoreMsgsPerSec / jf.perCoreMsgsPerSec }
      : {}),
  };
}

const us = (v: number | undefined) => (v === undefined ? 'n/a' : `${fmtDec(v)} µs`);
const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? '  ✓' : '  ✗');

function report(r: BenchResult, print: (line: string) => void): void {
  if (r.calls) reportCalls(r.calls, r.targets, print);
  if (r.relay) reportRelay(r.relay, r, print);
  if (r.open) reportOpen(r.open.cells, r.open, print);
  if (r.path) reportPath(r.path.figures, r.path.trials, print);
  print(
    `\n  CPU is % of one core (the machine has ${r.cores}); softirq: kernel network threads; ` +
      'other: other processes on the machine',
  );
  const busiest = Math.max(
    r.calls?.otherPct ?? 0,
    r.relay?.parley.otherPct ?? 0,
    r.relay?.peerjs?.otherPct ?? 0,
  );
  if (busiest >= 20)
    print(
      `  note: other processes took up to ${fmtInt(busiest)} % of a core during the measurements; ` +
        'on an otherwise idle machine the servers get that CPU too',
    );
  const n = r.serverCounts;
  if (n)
    print(
      `  Parley counted: ${fmtInt(n.rateLimited)} messages rate-limited, ${fmtInt(n.errors)} errors sent, ` +
        `${fmtInt(n.relayed)} relayed, ${fmtInt(n.callsEnded)} calls ended${r.server === 'child' ? '' : ' (since it started)'}`,
    );
  const t = r.targets;
  const goals = [
    t.callsPerSec !== undefined && `≥ 1,000 calls/s${mark(t.callsPerSec)}`,
    t.relayRatio !== undefined && `relay ≥ 1.2× PeerJS${mark(t.relayRatio)}`,
    t.relayP99 !== undefined && `p99 ≤ PeerJS${mark(t.relayP99)}`,
    t.openCpu !== undefined && `open loop CPU/msg ≤ 0.9× PeerJS${mark(t.openCpu)}`,
    t.openP99 !== undefined && `open loop p99 ≤ PeerJS${mark(t.openP99)}`,
  ].filter(Boolean);
  if (goals.length) print(`\nTargets: ${goals.join('; ')}`);
}

function reportCalls(
  c: NonNullable<BenchResult['calls']>,
  targets: BenchResult['targets'],
  print: (line: string) => void,
): void {
  print(
    `\nComplete calls: ${fmtInt(c.total)} calls (${c.concurrent} concurrent × ${c.perSlot}), ` +
      `${fmtDec(c.messagesPerCall)} frames per call, records persisted`,
  );
  print(
    table([
      ['calls/s', fmtInt(c.callsPerSec) + mark(targets.callsPerSec)],
      ['messages/s (frames in + out)', fmtInt(c.messagesPerSec)],
      ['setup p50 / p99 (invite → answer)', `${fmtMs(c.setupP50Ms)} / ${fmtMs(c.setupP99Ms)}`],
      ['server CPU per message', us(c.cpuUsPerMessage)],
      ['server CPU per call', us(c.cpuUsPerCall)],
      ['calls/s on one whole core (1e6 ÷ CPU per call)', fmtInt(c.perCoreCallsPerSec)],
      ['CPU: server / load gen / softirq / other', shares(c)],
    ]),
  );
}

function reportRelay(
  x: NonNullable<BenchResult['relay']>,
  r: BenchResult,
  print: (line: string) => void,
): void {
  print(
    `\nRelay: ${fmtInt(x.pairs)} pairs × ${x.exchanges} exchanges × ${MESSAGES_PER_EXCHANGE} ` +
      `(offer, answer, ${ICE_PER_SIDE} ICE each way) = ${fmtInt(x.messages)} messages per trial; ` +
      `${x.messagesPerUser} per user per trial (burst ${r.limits.rateBurst}); ` +
      `median of ${x.trials} alternating trials`,
  );
  const p = x.parley;
  const j = x.peerjs;
  const row = (name: string, f: (v: RelayFigures) => string, last = '') =>
    j ? [name, f(p), f(j), last] : [name, f(p)];
  print(
    table([
      j ? ['', 'Parley', 'PeerJS', 'Parley/PeerJS'] : ['', 'Parley'],
      row(
        'relayed msgs/s (steady)',
        (v) => fmtInt(v.msgsPerSec),
        j ? `${x.ratio!.toFixed(2)}×${mark(r.targets.relayRatio)}` : '',
      ),
      row('relayed msgs/s (whole trial)', (v) => fmtInt(v.overallMsgsPerSec)),
      row('latency p50 (all trials)', (v) => fmtMs(v.latencyP50Ms)),
      row(
        'latency p99 (all trials)',
        (v) => fmtMs(v.latencyP99Ms),
        mark(r.targets.relayP99).trim(),
      ),
      row('server CPU per relayed msg', (v) => us(v.cpuUsPerMessage)),
      row(
        'msgs/s on one whole core',
        (v) => fmtInt(v.perCoreMsgsPerSec),
        x.perCoreRatio === undefined ? '' : `${x.perCoreRatio.toFixed(2)}×`,
      ),
      row('CPU: server / load gen / softirq / other', shares),
      row(
        'avg frame bytes in / out',
        (v) => `${fmtInt(v.avgFrameBytesIn)} / ${fmtInt(v.avgFrameBytesOut)}`,
      ),
    ]),
  );
  print(
    `  trials, msgs/s: Parley ${x.parleyTrials.map(fmtInt).join(', ')}` +
      (x.peerjsTrials ? `; PeerJS ${x.peerjsTrials.map(fmtInt).join(', ')}` : ''),
  );
}
