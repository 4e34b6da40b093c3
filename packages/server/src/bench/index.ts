import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { createAuthenticator } from '../auth/index.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { CALLER_MESSAGES, ICE_PER_SIDE, runCalls, type CallsResult } from './calls.ts';
import {
  freePort,
  parleyEnv,
  peerAvailable,
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
import { fmtDec, fmtInt, fmtMs, table } from './stats.ts';

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
 * would need well over 5,000 users sending at once. Instead every user's whole share of the
 * run fits inside its burst, so the limiter can never refuse a message however fast the server
 * goes, and the server, not the limiter, is the bottleneck:
 *  - complete calls: a caller sends 7 messages per call (invite, offer, 4 ICE, hangup), so a
 *    user takes part in at most ⌊40 / 7⌋ = 5 calls; rounds rotate over enough user groups;
 *  - relay: a caller sends invite + 7 × (offer + 4 ICE) + hangup = 37 ≤ 40, its callee 36;
 *    1,000 pairs (2,000 users) all exchange at once, which keeps 1,000–5,000 messages in
 *    flight and saturates either server, and each trial connects fresh users. PeerJS gets
 *    the same pairs, exchanges, message counts and payloads. Refill during a run only adds
 *    headroom. (Sustained, 2,000 users could send 20,000 msg/s; the burst is what lets a
 *    short trial go faster, and the client-side count proves no user exceeds it.)
 * The counts are derived from the configured limits, so a different PARLEY_RATE_BURST still
 * yields a run that stays within it.
 */

export interface BenchOptions {
  /** Concurrent complete calls per round (default 500). */
  calls?: number;
  /** Rounds of complete calls (default 6). */
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
  /** Write a V8 CPU profile of the Parley child into this directory. */
  cpuProf?: string;
  /** Where lines go (default stdout). */
  print?: (line: string) => void;
}

interface RelayFigures {
  msgsPerSec: number;
  overallMsgsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  cpuUsPerMessage?: number;
  cpuCorePct?: number;
  /** The load generator's CPU use, so that one can tell which side was saturated. */
  clientCorePct: number;
  elapsedMs: number;
  avgFrameBytesIn: number;
  avgFrameBytesOut: number;
}

/** Every figure of a run (the `--json` line). */
export interface BenchResult {
  server: string;
  cpuMeasured: boolean;
  limits: { ratePerSec: number; rateBurst: number };
  calls: {
    concurrent: number;
    rounds: number;
    total: number;
    users: number;
    callsPerSec: number;
    messagesPerSec: number;
    messagesPerCall: number;
    setupP50Ms: number;
    setupP99Ms: number;
    setupMaxMs: number;
    cpuUsPerMessage?: number;
    cpuUsPerCall?: number;
    cpuCorePct?: number;
    clientCorePct: number;
    elapsedMs: number;
  };
  relay: {
    pairs: number;
    exchanges: number;
    messagesPerUser: number;
    messages: number;
    trials: number;
    /** Steady msgs/s of every trial; the figures below are each server's median trial. */
    parleyTrials: number[];
    peerjsTrials?: number[];
    parley: RelayFigures;
    peerjs?: RelayFigures;
    /** Parley msgs/s ÷ PeerJS msgs/s. */
    ratio?: number;
  };
  targets: { callsPerSec: boolean; relayRatio?: boolean; relayP99?: boolean };
}

const sleep = (ms: number) => (ms > 0 ? delay(ms) : Promise.resolve());

const per = (cpuUs: number | undefined, n: number) => (cpuUs === undefined ? undefined : cpuUs / n);

function relayFigures(r: RelayResult): RelayFigures {
  return {
    msgsPerSec: r.steadyRate,
    overallMsgsPerSec: r.overallRate,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    ...(r.cpuUs !== undefined
      ? { cpuUsPerMessage: r.cpuUs / r.messages, cpuCorePct: r.cpuUs / 10 / r.elapsedMs }
      : {}),
    clientCorePct: r.clientCpuUs / 10 / r.elapsedMs,
    elapsedMs: r.elapsedMs,
    avgFrameBytesIn: r.frames.bytesSent / r.frames.sent,
    avgFrameBytesOut: r.frames.bytesReceived / r.frames.received,
  };
}

function callFigures(c: CallsResult, concurrent: number, rounds: number): BenchResult['calls'] {
  const frames = c.frames.sent + c.frames.received;
  return {
    concurrent,
    rounds,
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
          cpuUsPerCall: per(c.cpuUs, c.calls)!,
          cpuCorePct: c.cpuUs / 10 / c.elapsedMs,
        }
      : {}),
    clientCorePct: c.clientCpuUs / 10 / c.elapsedMs,
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
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};

/** Runs the benchmark, prints the report, and returns every figure. */
export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const concurrent = positive('calls', opts.calls ?? 500);
  const rounds = positive('rounds', opts.rounds ?? 6);
  const pairs = positive('pairs', opts.pairs ?? 1000);
  const trials = positive('trials', opts.trials ?? 3);
  const withPeer = opts.peerjs !== false;
  const tag = `b${randomBytes(3).toString('hex')}`;

  const children: ServerChild[] = [];
  let dataDir: string | undefined;
  const cleanup = async () => {
    await Promise.all(children.map((c) => c.stop()));
    children.length = 0;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let config: Readonly<Config>;
    let wsBase: string;
    let parley: ServerChild | undefined;
    const peerPort = withPeer ? await freePort() : 0;
    if (withPeer && !peerAvailable())
      throw new Error('the PeerJS comparison needs the `peer` package (or pass --no-peerjs)');
    const peerStarting = withPeer ? startPeerJs(peerPort, 2 * pairs) : undefined;
    if (opts.url) {
      config = loadConfig();
      if (!config.auth.jwtSecret && !existsSync(join(config.dataDir, 'jwt-secret')))
        throw new Error(
          '--url needs the server’s token secret: set PARLEY_JWT_SECRET (or PARLEY_CONFIG / PARLEY_DATA_DIR as the server has them)',
        );
      wsBase = toWsBase(opts.url);
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
      const env = parleyEnv({
        port: await freePort(),
        dataDir,
        secret: randomBytes(24).toString('base64url'),
      });
      config = loadConfig(env);
      parley = await startParley(env, opts.cpuProf);
      children.push(parley);
      wsBase = `ws://127.0.0.1:${config.server.port}`;
    }
    const peer = await peerStarting;
    if (peer) children.push(peer);

    const auth = createAuthenticator(config);
    const mint = (userId: string) => auth.mint(userId, { ttlSec: 3600 });
    const { ratePerSec, rateBurst } = config.limits;
    const callsPerUser = Math.floor(rateBurst / CALLER_MESSAGES);
    const exchanges = Math.floor((rateBurst - 2) / (1 + ICE_PER_SIDE));
    if (callsPerUser < 1 || exchanges < 1)
      throw new Error(`a rate-limit burst of ${rateBurst} is too small for one call per user`);

    print(
      `Parley bench: ${cpus().length} CPUs, Node ${process.version}; server ${
        parley ? `child pid ${parley.pid} (SQLite in a temp dir)` : opts.url
      }; rate limit ${ratePerSec}/s burst ${rateBurst} per user (on)`,
    );
    if (!parley) print('  server CPU is not measured: the server is not a child of this process');

    const secs = (ms: number) => `${fmtDec(ms / 1000)} s`;
    print(`\ncomplete calls: ${concurrent} concurrent × ${rounds} rounds …`);
    const calls = await runCalls({
      wsBase,
      mint,
      tag: `${tag}c`,
      calls: concurrent,
      rounds,
      callsPerUser,
      ...(parley ? { pid: parley.pid } : {}),
    });
    print(
      `  ${fmtInt(calls.calls / (calls.elapsedMs / 1000))} calls/s ` +
        `(connect ${fmtInt(calls.users)} users ${secs(calls.setupMs)}, run ${secs(calls.elapsedMs)})`,
    );

    // Trials alternate between the servers so that a burst of other load on the machine hits
    // both alike, and each server's median trial is reported. The pairs stay connected (in
    // their accepted calls) from trial to trial; a Parley trial costs each user
    // `perTrial` tokens, so the next one starts only once that many have refilled (at
    // ratePerSec), which keeps every bucket at or above where it started. The PeerJS trial in
    // between mostly covers that wait.
    const perTrial = exchanges * (1 + ICE_PER_SIDE);
    const refillMs = Math.ceil((perTrial / ratePerSec) * 1000) + 100;
    const targets: RelayTarget[] = [parleyTarget(wsBase, mint, parley?.pid)];
    if (peer) targets.push(peerJsTarget(`ws://127.0.0.1:${peerPort}`, peer.pid));
    const limited = targets[0]!;
    print(`relay: ${pairs} pairs × ${exchanges} exchanges, ${trials} trials per server …`);
    const open = new Map<RelayTarget, RelayPair[]>();
    const runs = new Map<RelayTarget, RelayResult[]>(targets.map((t) => [t, []]));
    try {
      for (const [i, t] of targets.entries()) {
        const warm = await t.open(Math.min(200, pairs), `${tag}w${i}`);
        await runRelay(t, warm, exchanges).finally(() => t.close(warm)); // JIT warm-up
        const s0 = performance.now();
        open.set(t, await t.open(pairs, `${tag}r${i}`));
        print(
          `  ${t.name.padEnd(6)} ${fmtInt(2 * pairs)} users connected in ${secs(performance.now() - s0)}`,
        );
      }
      let limitedEnd = -Infinity;
      for (let k = 0; k < trials; k++) {
        for (const t of targets) {
          if (t === limited) await sleep(limitedEnd + refillMs - performance.now());
          const r = await runRelay(t, open.get(t)!, exchanges);
          if (t === limited) limitedEnd = r.endedAt;
          runs.get(t)!.push(r);
          print(
            `  ${t.name.padEnd(6)} trial ${k + 1}: ${fmtInt(r.steadyRate)} msgs/s ` +
              `(p99 ${fmtMs(r.latency.p99)}, ${secs(r.elapsedMs)})`,
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

    const pf = relayFigures(parleyRelay);
    const jf = peerRelay ? relayFigures(peerRelay) : undefined;
    const ratio = jf ? pf.msgsPerSec / jf.msgsPerSec : undefined;
    const result: BenchResult = {
      server: parley ? 'child' : opts.url!,
      cpuMeasured: pf.cpuUsPerMessage !== undefined,
      limits: { ratePerSec, rateBurst },
      calls: callFigures(calls, concurrent, rounds),
      relay: {
        pairs,
        exchanges,
        messagesPerUser: 2 + exchanges * (1 + ICE_PER_SIDE),
        messages: parleyRelay.messages,
        trials,
        parleyTrials: runs.get(limited)!.map((r) => r.steadyRate),
        ...(targets[1] ? { peerjsTrials: runs.get(targets[1])!.map((r) => r.steadyRate) } : {}),
        parley: pf,
        ...(jf ? { peerjs: jf, ratio } : {}),
      },
      targets: {
        callsPerSec: calls.calls / calls.elapsedMs >= 1,
        ...(jf ? { relayRatio: ratio! >= 1.2, relayP99: pf.latencyP99Ms <= jf.latencyP99Ms } : {}),
      },
    };
    report(result, print);
    const warnings = parley?.warnings() ?? 0;
    if (warnings > 0) print(`\nnote: the Parley child logged ${warnings} warnings or errors`);
    if (opts.json) print(JSON.stringify(result));
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

function report(r: BenchResult, print: (line: string) => void): void {
  const c = r.calls;
  const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? '  ✓' : '  ✗');
  print(
    `\nComplete calls — ${fmtInt(c.total)} calls (${c.concurrent} concurrent × ${c.rounds} rounds), ` +
      `${fmtDec(c.messagesPerCall)} frames per call, records persisted`,
  );
  print(
    table([
      ['calls/s', fmtInt(c.callsPerSec) + mark(r.targets.callsPerSec)],
      ['messages/s (frames in + out)', fmtInt(c.messagesPerSec)],
      ['setup p50 / p99 (invite → answer)', `${fmtMs(c.setupP50Ms)} / ${fmtMs(c.setupP99Ms)}`],
      [
        'server CPU per message',
        c.cpuUsPerMessage === undefined ? 'n/a' : `${fmtDec(c.cpuUsPerMessage)} µs`,
      ],
      [
        'server CPU per call',
        c.cpuUsPerCall === undefined ? 'n/a' : `${fmtInt(c.cpuUsPerCall)} µs`,
      ],
      [
        'server CPU busy',
        c.cpuCorePct === undefined ? 'n/a' : `${fmtInt(c.cpuCorePct)} % of a core`,
      ],
      ['load generator CPU busy', `${fmtInt(c.clientCorePct)} % of a core`],
    ]),
  );
  const x = r.relay;
  print(
    `\nRelay — ${fmtInt(x.pairs)} pairs × ${x.exchanges} exchanges × ${MESSAGES_PER_EXCHANGE} ` +
      `(offer, answer, ${ICE_PER_SIDE} ICE each way) = ${fmtInt(x.messages)} messages per server; ` +
      `≤ ${x.messagesPerUser} messages per user (burst ${r.limits.rateBurst})`,
  );
  const p = x.parley;
  const j = x.peerjs;
  const col = (f: (v: RelayFigures) => string) => [f(p), ...(j ? [f(j)] : [])];
  const us = (v: number | undefined) => (v === undefined ? 'n/a' : `${fmtDec(v)} µs`);
  print(
    table([
      ['', 'Parley', ...(j ? ['PeerJS', 'Parley/PeerJS'] : [])],
      [
        'relayed msgs/s (steady)',
        ...col((v) => fmtInt(v.msgsPerSec)),
        ...(j ? [`${x.ratio!.toFixed(2)}×${mark(r.targets.relayRatio)}`] : []),
      ],
      [
        'relayed msgs/s (whole run)',
        ...col((v) => fmtInt(v.overallMsgsPerSec)),
        ...(j ? [''] : []),
      ],
      ['latency p50', ...col((v) => fmtMs(v.latencyP50Ms)), ...(j ? [''] : [])],
      [
        'latency p99',
        ...col((v) => fmtMs(v.latencyP99Ms)),
        ...(j ? [mark(r.targets.relayP99).trim() || ''] : []),
      ],
      ['server CPU per relayed msg', ...col((v) => us(v.cpuUsPerMessage)), ...(j ? [''] : [])],
      [
        'server CPU busy',
        ...col((v) => (v.cpuCorePct === undefined ? 'n/a' : `${fmtInt(v.cpuCorePct)} %`)),
        ...(j ? [''] : []),
      ],
      [
        'load generator CPU busy',
        ...col((v) => `${fmtInt(v.clientCorePct)} %`),
        ...(j ? [''] : []),
      ],
      ['run time', ...col((v) => `${fmtDec(v.elapsedMs / 1000)} s`), ...(j ? [''] : [])],
      [
        'avg frame bytes in / out',
        ...col((v) => `${fmtInt(v.avgFrameBytesIn)} / ${fmtInt(v.avgFrameBytesOut)}`),
        ...(j ? [''] : []),
      ],
    ]),
  );
  print(
    '\nTargets: ≥ 1,000 calls/s' +
      mark(r.targets.callsPerSec) +
      (j
        ? `; relay ≥ 1.2× PeerJS${mark(r.targets.relayRatio)}; p99 ≤ PeerJS${mark(r.targets.relayP99)}`
        : ''),
  );
}
