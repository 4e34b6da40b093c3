import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { createApp, type App, loadConfig, type Identity, type SfuRouter } from '@parley/server';
import { launchChromium, servePage, type MeetingPageWindow } from './browser.ts';
import { record, replay, SinkConsumers, UdpSink, type Recording } from './sfu-fanout.ts';
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
 *    (requestVideoFrameCallback). p50/p95 of that time.
 * 2. Fan-out capacity of one worker: a few seconds of that video's top layer are recorded (a
 *    DirectTransport consumer), Chromium is closed so that it stops competing for the cores,
 *    and the recording is replayed in real time into a PlainTransport producer. More and more
 *    consumers of it, each on its own PlainTransport with SRTP (WebRTC consumers pay for SRTP
 *    too), send to one local UDP sink (which never reads: see UdpSink) until the worker process
 *    uses 85% of a core, by its own rusage. "forwarded" is what a sample of the consumers sent,
 *    as a share of the stream's packet rate: below 100% the worker no longer keeps up.
 *    mediasoup documents ~500 consumers per worker as a rule of thumb.
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
  transport: 'ws' | 'socket.io';
  chromium?: string;
  json: boolean;
  /** Run the scaling run this many times instead of phase 2 (0: phase 2). */
  scalingRuns: number;
}

/** The page's window, in the callbacks that run in the browser. */
declare const window: MeetingPageWindow;

const identity = (userId: string): Identity => ({
  userId,
  name: userId,
  grants: [],
  expiresAt: Number.MAX_SAFE_INTEGER,
});

/** Nearest-rank percentile of sorted values. */
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** Runs both phases and prints the figures. */
export async function runSfuBench(o: SfuBenchOptions): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-sfu-'));
  const config = loadConfig(process.env, {
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    databaseUrl: undefined,
    auth: { jwtSecret: randomBytes(24).toString('base64url') },
    // The scaling run needs a second worker (a second core).
    sfu: { workers: o.scalingRuns > 0 ? 2 : 1, webRtcServerPort: 0 },
  });
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  const addr = await app.listen();
  const browser = await launchChromium(o.chromium);
  const pages = await servePage();
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    await app.sfu.start();
    const meetingId = (await app.meetings.create(identity('publisher'), 'bench')).meetingId;
    const server =
      o.transport === 'ws' ? `ws://127.0.0.1:${addr.port}` : `http://127.0.0.1:${addr.port}`;
    const open = async (userId: string): Promise<Page> => {
      await app.meetings.join(identity(userId), meetingId, userId);
      const page = await browser.newPage();
      await page.goto(pages.url);
      await page.waitForFunction(() => typeof window.startMeeting === 'function');
      const token = await app.auth.mint(userId);
      await page.evaluate((opts) => window.startMeeting(opts).join(), {
        server,
        transport: o.transport,
        token,
        meetingId,
      });
      return page;
    };

    out(
      `Parley SFU benchmark: mediasoup 3.12.16, ${config.sfu.workers} worker(s), ` +
        `${availableParallelism()} cores ` +
        `(load average ${loadavg()[0]!.toFixed(1)} at start), signaling over ${o.transport}`,
    );
    const progress = (s: string) => process.stderr.write(`  … ${s}\n`);
    progress('publishing 1280x720@30 in three simulcast encodings');
    const publisher = await open('publisher');
    const { video } = await publisher.evaluate(() =>
      window.meeting.publish({ width: 1280, height: 720, frameRate: 30 }),
    );

    // Phase 1.
    const joins: number[] = [];
    for (let i = 0; i < o.joins; i++) {
      const page = await open(`viewer-${i}`);
      await page.waitForFunction(() => window.meeting.firstFrameAt > 0, undefined, {
        timeout: 30_000,
        polling: 20,
      });
      joins.push(await page.evaluate(() => window.meeting.firstFrameAt - window.meeting.joinedAt));
      progress(`join ${i + 1}: first frame after ${fmtInt(joins.at(-1))} ms`);
      await page.evaluate(() => window.meeting.leave());
      await page.close();
    }
    joins.sort((a, b) => a - b);
    out(
      `\njoin → first remote video frame (Chromium, 1280x720 simulcast publisher, ${joins.length} joins): ` +
        `p50 ${fmtInt(pct(joins, 50))} ms, p95 ${fmtInt(pct(joins, 95))} ms, max ${fmtInt(joins.at(-1))} ms`,
    );

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
      out(
        JSON.stringify({
          joinMs: { p50: pct(joins, 50), p95: pct(joins, 95), max: joins.at(-1), n: joins.length },
          stream,
          ...phase2,
        }),
      );
    }
  } finally {
    await browser.close();
    await pages.close();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
    { step: o.step, maxPerWorker: o.maxConsumers, windowSec: o.windowSec, runs: o.scalingRuns },
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
      `${fmtInt(recording.pps)} packets/s) to PlainTransport consumers with SRTP, one worker:`,
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
  const sink = await UdpSink.open();
  const fan = new SinkConsumers(router, source.producer.id, sink.port);
  // The counters read together and timed at the middle of their requests (see sfu-scaling.ts).
  const snapshot = async () => {
    const before = performance.now();
    const [workers, sent] = await Promise.all([app.sfu.cpuTime(), fan.sentPerConsumer()]);
    return {
      at: (before + performance.now()) / 2,
      cpuMs: workers.find((w) => w.pid === workerPid)!.cpuMs,
      sent,
      arrived: sink.arrived(),
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
