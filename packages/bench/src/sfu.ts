import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import type { App, Identity, SfuRouter } from '@parley/server';
import { launchChromium, servePage, type MeetingPageWindow } from './browser.ts';
import { settle } from './children.ts';
import {
  openSink,
  record,
  replay,
  SinkConsumers,
  type Recording,
  type SinkKind,
} from './sfu-fanout.ts';
import {
  JOIN_CASES,
  joinFigures,
  pct,
  placementOf,
  stepFigures,
  WorkerFill,
  type JoinSample,
  type MediaHome,
  type Placement,
} from './sfu-joins.ts';
import {
  BENCH_CONSUMER_BUDGET,
  startSfuNodes,
  type ClusterServices,
  type SfuNodes,
} from './sfu-nodes.ts';
import type { SrtcpSuite } from './srtcp.ts';
import { CPU_TARGET, MIN_FORWARDED, runScaling, type ScalingResult } from './sfu-scaling.ts';
import { fmtDec, fmtInt, table } from './stats.ts';

/**
 * `parley bench-sfu`: what a meeting costs on the SFU. A benchmark, not a test: it prints
 * figures.
 *
 * 1. Join to first remote frame: a Chromium page publishes its fake camera at 1280x720 in three
 *    simulcast encodings; then, one after another, fresh pages run the whole spec flow
 *    (signaling connect, getRouterRtpCapabilities, device.load, rtc:join, two transports,
 *    consume and resume audio and video) until the first remote video frame is presented
 *    (requestVideoFrameCallback). p50/p95 of that time, and of each step of it (the page's
 *    marks: page/join-marks.ts), for a joiner on the publisher's router, on another worker's
 *    router (piped within the node) and on another node (piped between nodes), in turn
 *    (sfu-joins.ts, sfu-nodes.ts). Each join starts once a core is free (`settle`).
 * 2. Fan-out capacity of one worker: a few seconds of that video's top layer are recorded (a
 *    DirectTransport consumer), Chromium is closed so that it stops competing for the cores,
 *    and the recording is replayed in real time into a PlainTransport producer. More and more
 *    consumers of it, each on its own PlainTransport with SRTP in a browser's suite (`srtp`:
 *    WebRTC consumers pay for SRTP too), send to one local UDP sink (`sink`: by default one
 *    that never reads, UdpSink; or one that answers each transport with transport-cc feedback
 *    as a browser does, FeedbackSink) until the worker process uses 85% of a core, by its own
 *    rusage. "forwarded" is what a sample of the consumers sent, as a share of the stream's
 *    packet rate: below 100% the worker no longer keeps up. mediasoup documents ~500 consumers
 *    per worker as a rule of thumb.
 * 3. With `scaling`, instead of 2: the scaling run (sfu-scaling.ts), the largest fan-out on one
 *    worker, on two workers (pipeToRouter) and on two nodes (a PipeTransport pair), `runs`
 *    times.
 */
export interface SfuBenchOptions {
  /** Joins measured in phase 1. */
  joins: number;
  /** Consumers added per step in phase 2. */
  step: number;
  /** Stop phase 2 at this many consumers even below the CPU target. */
  maxConsumers: number;
  /** Seconds of each CPU measurement window. */
  windowSec: number;
  /** What the consumers send to: see Sink. */
  sink: SinkKind;
  /** The consumers' SRTP crypto suite (BROWSER_SRTP: what a browser's consumers use). */
  srtp: SrtcpSuite;
  transport: 'ws' | 'socket.io';
  chromium?: string;
  json: boolean;
  /** Run the scaling run this many times instead of phase 2 (0: phase 2). */
  scalingRuns: number;
  /** Redis and PostgreSQL for a second node (the join case "other node"); null: one node. */
  cluster: ClusterServices | null;
}

/** The page's window, in the callbacks that run in the browser. */
declare const window: MeetingPageWindow;

const identity = (userId: string): Identity => ({
  userId,
  name: userId,
  grants: [],
  expiresAt: Number.MAX_SAFE_INTEGER,
});

/** Runs both phases and prints the figures. */
export async function runSfuBench(o: SfuBenchOptions): Promise<void> {
  const nodes = await startSfuNodes(o.cluster);
  const app = nodes.a;
  const browser = await launchChromium(o.chromium);
  const pages = await servePage();
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const meetingId = (await app.meetings.create(identity('publisher'), 'bench')).meetingId;
    const serverAt = (port: number) =>
      o.transport === 'ws' ? `ws://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
    const open = async (userId: string, port: number) => {
      await app.meetings.join(identity(userId), meetingId, userId);
      const page = await browser.newPage();
      await page.goto(pages.url);
      await page.waitForFunction(() => typeof window.startMeeting === 'function');
      const token = await app.auth.mint(userId);
      // A join starts once a core is free: not inside this page's load or the last one's close,
      // which take more CPU than the join (a renderer each), on this 2-core machine.
      const waitedMs = await settle();
      const { peerId } = await page.evaluate((opts) => window.startMeeting(opts).join(), {
        server: serverAt(port),
        transport: o.transport,
        token,
        meetingId,
      });
      return { page, peerId, waitedMs };
    };

    out(
      `Parley SFU benchmark: mediasoup 3.12.16, ${app.config.sfu.workers} workers ` +
        `(${nodes.b ? 'and a second node of one worker' : 'one node'}), ` +
        `${availableParallelism()} cores ` +
        `(load average ${loadavg()[0]!.toFixed(1)} at start), signaling over ${o.transport}`,
    );
    const progress = (s: string) => process.stderr.write(`  … ${s}\n`);
    progress('publishing 1280x720@30 in three simulcast encodings');
    const publisher = await open('publisher', nodes.ports.a);
    const { video } = await publisher.page.evaluate(() =>
      window.meeting.publish({ width: 1280, height: 720, frameRate: 30 }),
    );
    // The joins start once the SFU gets all three layers (and with a warm-up round: see
    // measureJoins): the publisher's ramp-up, its layers turning on as its bandwidth estimate
    // grows, would hold up a first join's key frame.
    await publisher.page.waitForFunction(
      async () =>
        (await window.meeting.videoProducerStats()).filter((s) => s.bitrate > 0).length >= 3,
      undefined,
      { timeout: 30_000, polling: 100 },
    );

    // Phase 1.
    const joins = await measureJoins(nodes, { meetingId, video, publisher: publisher.peerId }, o, {
      open,
      progress,
    });
    out(joinTable(joins, nodes));
    out(stepTable(joins));

    // Phase 2: record the top layer, close the browser (its CPU), replay and fan out.
    const room = app.rtc.router(meetingId);
    if (!room) throw new Error('the meeting has no media room');
    progress(`recording ${RECORD_SEC} s of the top layer`);
    const recording = await record(room, video, RECORD_SEC);
    await browser.close();
    const stream = { kbps: recording.kbps, pps: recording.pps };
    const phase2 =
      o.scalingRuns > 0
        ? { scaling: await scaling(app, recording, o, out) }
        : await singleWorker(app, recording, o, out);
    if (o.json) {
      const figures = { joins: joinFigures(joins), steps: stepFigures(joins) };
      out(JSON.stringify({ ...figures, stream, ...phase2 }));
    }
  } finally {
    await browser.close();
    await pages.close();
    await nodes.close();
  }
}

/** What phase 1 joins: the meeting, its publisher's peer and video producer. */
interface Published {
  meetingId: string;
  video: string;
  publisher: string;
}

/** How phase 1 opens a page that joins through a node's port, and reports progress. */
interface JoinTools {
  open(userId: string, port: number): Promise<{ page: Page; peerId: string; waitedMs: number }>;
  progress(s: string): void;
}

/**
 * Phase 1: `o.joins` joins of each case, taking turns, after a warm-up round. Before each,
 * node A's publisher worker is filled to its consumer budget (other worker) or emptied (the
 * others); after the first frame, where the joiner's media was and whether a pipe carried it.
 */
async function measureJoins(
  nodes: SfuNodes,
  m: Published,
  o: SfuBenchOptions,
  t: JoinTools,
): Promise<JoinSample[]> {
  const { a, b } = nodes;
  const fill = new WorkerFill(a.rtc.router(m.meetingId)!, m.video, BENCH_CONSUMER_BUDGET - 1);
  const cases = JOIN_CASES.filter((c) => c !== 'other node' || b);
  const samples: JoinSample[] = [];
  try {
    // Round 0 warms up (not in the figures): a first join right after the publisher starts
    // can wait seconds for a key frame of a layer that its encoder is still turning on.
    for (let i = 0; i <= o.joins; i++) {
      for (const c of cases) {
        const node = c === 'other node' ? b! : a;
        if (c === 'other worker') await fill.fill();
        else fill.empty();
        const { page, peerId, waitedMs } = await t.open(
          `viewer-${JOIN_CASES.indexOf(c)}-${i}`,
          c === 'other node' ? nodes.ports.b! : nodes.ports.a,
        );
        await page.waitForFunction(() => window.meeting.marks.presented !== undefined, undefined, {
          timeout: 30_000,
          polling: 20,
        });
        const marks = await page.evaluate(() => window.meeting.marks);
        const ms = marks.presented! - marks.start!;
        const joiner = homeOf(node, m.meetingId, peerId);
        const publisher = homeOf(a, m.meetingId, m.publisher);
        const placed = placementOf(joiner, publisher);
        const piped = placed !== 'same router' && (await pipedHere(node, m, placed));
        if (i > 0) samples.push({ case: c, ms, marks, placed, piped, waitedMs });
        t.progress(
          `${i > 0 ? `join ${i}` : 'warm-up'}, ${c}: first frame after ${fmtInt(ms)} ms; joiner on router ` +
            `${joiner.routerId.slice(0, 8)} (node ${joiner.node}, worker ${joiner.workerPid}), ` +
            `publisher on ${publisher.routerId.slice(0, 8)} (node ${publisher.node}, worker ` +
            `${publisher.workerPid})${piped ? ', video piped' : ''}`,
        );
        await page.evaluate(() => window.meeting.leave());
        await page.close();
      }
    }
  } finally {
    fill.empty();
  }
  return samples;
}

/** Where a peer's media is on a node (its router, from the room's layout). */
function homeOf(node: App, meetingId: string, peerId: string): MediaHome {
  const router = node.rtc.layout(meetingId)?.routers.find((r) => r.peers.includes(peerId));
  if (!router) throw new Error(`peer ${peerId} has no router on node ${node.nodeId}`);
  return { node: node.nodeId, routerId: router.routerId, workerPid: router.workerPid };
}

/**
 * Whether the publisher's video reached a joiner placed away from it through a pipe: on another
 * worker, the meeting's pipes between its routers (`parley_meeting_pipes`); on another node, a
 * copy of the producer (same id) with a consumer on that node's router.
 */
async function pipedHere(node: App, m: Published, placed: Placement): Promise<boolean> {
  if (placed === 'other node') {
    const dump = (await node.rtc.router(m.meetingId)?.dump()) as
      { mapProducerIdConsumerIds: Record<string, string[]> } | undefined;
    return (dump?.mapProducerIdConsumerIds[m.video]?.length ?? 0) > 0;
  }
  return (node.rtc.layout(m.meetingId)?.pipes ?? 0) > 0;
}

/** Phase 1's figures per case, and what they show of the placements. */
function joinTable(samples: JoinSample[], nodes: SfuNodes): string {
  const figures = joinFigures(samples);
  const rows = figures.map((f) => [
    f.case,
    `${f.asMeant} of ${f.n}`,
    f.case === 'same router' ? '-' : `${f.piped} of ${f.asMeant}`,
    fmtInt(f.p50),
    fmtInt(f.p95),
    fmtInt(f.max),
  ]);
  const misplaced = samples.filter((s) => s.placed !== s.case);
  const waited = samples.map((s) => s.waitedMs).sort((a, b) => a - b);
  const waits = `waited p50 ${fmtInt(pct(waited, 50))} ms, max ${fmtInt(waited.at(-1) ?? NaN)} ms`;
  return (
    `\njoin → first remote video frame (Chromium, 1280x720 simulcast publisher on node A; ` +
    `each case in turn; the publisher's worker filled to its budget of ` +
    `${BENCH_CONSUMER_BUDGET} consumers for "other worker"), ms:\n` +
    table([['joiner', 'placed so', 'video piped', 'p50', 'p95', 'max'], ...rows]) +
    `\neach join started once no more than one core was busy (${waits})` +
    (misplaced.length > 0
      ? `\nplaced elsewhere than meant (not in the figures): ${misplaced
          .map((s) => `${s.case} → ${s.placed}`)
          .join(', ')}`
      : '') +
    (nodes.noB ? `\n"other node" not measured (${nodes.noB})` : '') +
    ` (load average ${loadavg()[0]!.toFixed(1)})`
  );
}

/** Phase 1's joins step by step: p50 and p95 of each step's duration, per case. */
function stepTable(samples: JoinSample[]): string {
  const cases = stepFigures(samples);
  const rows = cases[0]?.steps.map((_, i) => [
    cases[0]!.steps[i]!.step,
    ...cases.flatMap((c) => [fmtInt(c.steps[i]!.p50), fmtInt(c.steps[i]!.p95)]),
  ]);
  return (
    `\nthe joins step by step (the page's clock; steps that overlap do not add up), ms:\n` +
    table([['step', ...cases.flatMap((c) => [`${c.case} p50`, 'p95'])], ...(rows ?? [])])
  );
}

/** Phase 3: the scaling run. */
async function scaling(
  app: App,
  recording: Recording,
  o: SfuBenchOptions,
  out: (s: string) => void,
): Promise<ScalingResult[]> {
  const results = await runScaling(
    app,
    recording,
    {
      step: o.step,
      maxPerWorker: o.maxConsumers,
      windowSec: o.windowSec,
      runs: o.scalingRuns,
      sink: o.sink,
      srtp: o.srtp,
    },
    out,
  );
  out(`(load average ${loadavg()[0]!.toFixed(1)} at the end)`);
  return results;
}

/** Phase 2: more and more consumers on one worker, a table of every step. */
async function singleWorker(
  app: App,
  recording: Recording,
  o: SfuBenchOptions,
  out: (s: string) => void,
) {
  out(
    `\nfan-out of one recorded stream (VP8, top layer: ${fmtInt(recording.kbps)} kbit/s, ` +
      `${fmtInt(recording.pps)} packets/s) to PlainTransport consumers with SRTP (${o.srtp}), one worker:`,
  );
  const rows = await fanOut(app, await app.sfu.createRouter({ bench: true }), recording, o);
  out(
    table([
      ['consumers', 'worker CPU', 'forwarded', 'µs per forwarded packet', 'reached the sink'],
      ...rows.map((r) => [
        fmtInt(r.consumers),
        `${fmtDec(r.cpu)}%`,
        r.consumers === 0 ? '-' : `${fmtInt(r.delivered)}%`,
        r.consumers === 0
          ? '-'
          : fmtDec((r.cpu * 1e4) / (r.consumers * recording.pps * (r.delivered / 100))),
        r.consumers === 0 ? '-' : `${fmtInt(r.arrived)}%`,
      ]),
    ]),
  );
  const fit = rows.filter((r) => r.consumers > 0);
  const carried = fit.filter((r) => r.cpu < CPU_TARGET && r.delivered >= MIN_FORWARDED);
  const below = carried.at(-1);
  // CPU per consumer from a least-squares line through the steps the worker carried.
  const line = [{ consumers: 0, cpu: rows[0]!.cpu }, ...carried];
  const mx = line.reduce((s, r) => s + r.consumers, 0) / line.length;
  const my = line.reduce((s, r) => s + r.cpu, 0) / line.length;
  const slope =
    line.reduce((s, r) => s + (r.consumers - mx) * (r.cpu - my), 0) /
    line.reduce((s, r) => s + (r.consumers - mx) ** 2, 0);
  const at85 = (CPU_TARGET - (my - slope * mx)) / slope;
  out(
    `\n→ ${fmtInt(below?.consumers ?? 0)} consumers carried (≥ ${MIN_FORWARDED}% forwarded) below ` +
      `${CPU_TARGET}% of a core; the carried steps fit ${fmtDec(slope * 100)}% of a core per ` +
      `100 consumers, ~${fmtInt(at85)} consumers at ${CPU_TARGET}%. mediasoup documents ~500 ` +
      `consumers per worker (load average ${loadavg()[0]!.toFixed(1)} at the end)`,
  );
  return { fanOut: rows, consumersBelow85: below?.consumers ?? 0, consumersAt85Fit: at85 };
}

/** Seconds of video recorded for the replay. */
const RECORD_SEC = 5;

/** One measured step of the fan-out. */
interface Step {
  consumers: number;
  /** Worker CPU, % of one core. */
  cpu: number;
  /** RTP packets each consumer sent, % of the stream's packet rate. */
  delivered: number;
  /** Packets that reached the sink, % of what the consumers sent. */
  arrived: number;
}

async function fanOut(app: App, sfuRouter: SfuRouter, rec: Recording, o: SfuBenchOptions) {
  const { router, workerPid } = sfuRouter;
  const source = await replay(router, rec);
  const sink = await openSink(o.sink);
  const fan = new SinkConsumers(router, source.producer.id, sink, o.srtp);
  // The counters read together and timed at the middle of their requests (see sfu-scaling.ts).
  const snapshot = async () => {
    const before = performance.now();
    const [workers, sent, arrived] = await Promise.all([
      app.sfu.cpuTime(),
      fan.sentPerConsumer(),
      sink.arrived(),
    ]);
    return {
      at: (before + performance.now()) / 2,
      cpuMs: workers.find((w) => w.pid === workerPid)!.cpuMs,
      sent,
      arrived,
    };
  };
  const rows: Step[] = [];
  try {
    for (let target = 0; target <= o.maxConsumers; target += o.step) {
      await fan.grow(target, rec.keyFrameGapMs + 3000); // each from its first key frame
      const s0 = await snapshot();
      await delay(o.windowSec * 1000);
      const s1 = await snapshot();
      const sec = (s1.at - s0.at) / 1000;
      const perConsumer = (s1.sent - s0.sent) / sec;
      const step: Step = {
        consumers: target,
        cpu: ((s1.cpuMs - s0.cpuMs) / (sec * 1000)) * 100,
        delivered: target === 0 ? 0 : (perConsumer / rec.pps) * 100,
        arrived:
          target === 0 ? 0 : ((s1.arrived - s0.arrived) / sec / (perConsumer * target)) * 100,
      };
      rows.push(step);
      process.stderr.write(
        `  … ${step.consumers} consumers: worker ${fmtDec(step.cpu)}% of a core, ` +
          `${fmtInt(step.delivered)}% delivered\n`,
      );
      // Past either limit the worker no longer carries the load.
      if (step.cpu >= CPU_TARGET || (target > 0 && step.delivered < MIN_FORWARDED)) break;
    }
  } finally {
    fan.close();
    source.stop();
    sink.close();
    router.close();
  }
  return rows;
}
