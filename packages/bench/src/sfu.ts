import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import {
  createApp,
  type App,
  loadConfig,
  type Identity,
  type Consumer,
  type PlainTransport,
  type Router,
  type RtpParameters,
} from '@parley/server';
import { launchChromium, servePage, type MeetingPageWindow } from './browser.ts';
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
 *    too), send to one local UDP sink until the worker process uses 85% of a core, by its own
 *    rusage. "forwarded" is what a sample of the consumers sent, as a share of the stream's
 *    packet rate: below 100% the worker no longer keeps up. mediasoup documents ~500
 *    consumers per worker as a rule of thumb.
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
}

/** The page's window, in the callbacks that run in the browser. */
declare const window: MeetingPageWindow;

/** The CPU share of one core the capacity phase stops at. */
const CPU_TARGET = 85;

/** The share of the stream's packets every consumer must get for the worker to carry it. */
const MIN_FORWARDED = 95;

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
    sfu: { workers: 1, webRtcServerPort: 0 },
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
      `Parley SFU benchmark: mediasoup 3.12.16, 1 worker, ${availableParallelism()} cores ` +
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
    out(
      `\nfan-out of one recorded stream (VP8, top layer: ${fmtInt(recording.kbps)} kbit/s, ` +
        `${fmtInt(recording.pps)} packets/s) to PlainTransport consumers with SRTP, one worker:`,
    );
    const { router } = await app.sfu.createRouter({ bench: true });
    const rows = await fanOut(app, router, recording, o);
    out(
      table([
        ['consumers', 'worker CPU', 'forwarded', 'received by the sink'],
        ...rows.map((r) => [
          fmtInt(r.consumers),
          `${fmtDec(r.cpu)}%`,
          r.consumers === 0 ? '-' : `${fmtInt(r.delivered)}%`,
          `${fmtDec(r.mbps)} Mbit/s`,
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
    if (o.json) {
      out(
        JSON.stringify({
          joinMs: { p50: pct(joins, 50), p95: pct(joins, 95), max: joins.at(-1), n: joins.length },
          stream: { kbps: recording.kbps, pps: recording.pps },
          fanOut: rows,
          consumersBelow85: below?.consumers ?? 0,
          consumersAt85Fit: at85,
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

/** Seconds of video recorded for the replay. */
const RECORD_SEC = 5;

/** RTP packets of one stream with their arrival times, and what it takes to produce it again. */
interface Recording {
  packets: Array<{ at: number; data: Buffer }>;
  rtpParameters: RtpParameters;
  kbps: number;
  pps: number;
}

/** Records the top layer of a producer through a DirectTransport consumer. */
async function record(router: Router, producerId: string, seconds: number): Promise<Recording> {
  const direct = await router.createDirectTransport();
  const consumer = await direct.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
  const packets: Recording['packets'] = [];
  await delay(2000); // the top layer is flowing
  consumer.on('rtp', (data) => packets.push({ at: performance.now(), data: Buffer.from(data) }));
  await consumer.requestKeyFrame();
  await delay(seconds * 1000);
  direct.close();
  const rtp = consumer.rtpParameters;
  const bytes = packets.reduce((s, p) => s + p.data.length, 0);
  return {
    packets,
    // The same stream, without RTX (the replay never retransmits).
    rtpParameters: {
      codecs: rtp.codecs.filter((c) => !c.mimeType.toLowerCase().endsWith('/rtx')),
      headerExtensions: rtp.headerExtensions ?? [],
      encodings: [{ ssrc: rtp.encodings![0]!.ssrc! }],
      rtcp: rtp.rtcp ?? {},
    },
    kbps: (bytes * 8) / seconds / 1000,
    pps: packets.length / seconds,
  };
}

/** Sends a recording into a PlainTransport producer in a loop, in real time. */
async function replay(router: Router, rec: Recording) {
  const ingest = await router.createPlainTransport({
    listenIp: '127.0.0.1',
    rtcpMux: true,
    comedia: true,
  });
  const producer = await ingest.produce({ kind: 'video', rtpParameters: rec.rtpParameters });
  const socket = createSocket('udp4');
  const port = ingest.tuple.localPort;
  const { packets } = rec;
  const first = packets[0]!;
  const last = packets.at(-1)!;
  const gap = 1000 / 30;
  const span = last.at - first.at + gap;
  const ts0 = first.data.readUInt32BE(4);
  const tsSpan = ((last.data.readUInt32BE(4) - ts0) >>> 0) + 90_000 / 30;
  const seq0 = first.data.readUInt16BE(2);
  const start = performance.now();
  let loop = 0;
  let i = 0;
  // Sequence numbers and timestamps keep rising across loops, as a live stream's do.
  const timer = setInterval(() => {
    const now = performance.now() - start;
    for (;;) {
      const p = packets[i]!;
      if (loop * span + (p.at - first.at) > now) break;
      const buf = Buffer.from(p.data);
      buf.writeUInt16BE((seq0 + loop * packets.length + i) & 0xffff, 2);
      buf.writeUInt32BE((p.data.readUInt32BE(4) + loop * tsSpan) >>> 0, 4);
      socket.send(buf, port, '127.0.0.1');
      if (++i === packets.length) {
        i = 0;
        loop++;
      }
    }
  }, 5);
  return {
    producer,
    stop: () => {
      clearInterval(timer);
      socket.close();
      ingest.close();
    },
  };
}

/** One measured step of the fan-out. */
interface Step {
  consumers: number;
  /** Worker CPU, % of one core. */
  cpu: number;
  /** RTP packets each consumer sent, % of the stream's packet rate. */
  delivered: number;
  /** Megabits per second the sink received in total. */
  mbps: number;
}

async function fanOut(app: App, router: Router, rec: Recording, o: SfuBenchOptions) {
  const source = await replay(router, rec);
  const sink = createSocket('udp4');
  let bytes = 0;
  sink.on('message', (m) => (bytes += m.length));
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  sink.setRecvBufferSize(4 << 20);
  const sinkPort = sink.address().port;
  const transports: PlainTransport[] = [];
  const consumers: Consumer[] = [];
  /** Packets sent so far by a sample of the consumers (the worker's view; the sink may drop). */
  const sentBySample = async (): Promise<number> => {
    const sample = consumers.filter((_, i) => i % Math.ceil(consumers.length / 20) === 0);
    const stats = await Promise.all(sample.map((c) => c.getStats()));
    const sent = stats.map((s) => s.find((x) => x.type === 'outbound-rtp')?.packetCount ?? 0);
    return sent.reduce((a, b) => a + b, 0) / Math.max(1, sample.length);
  };
  const rows: Step[] = [];
  /** A consumer of the replayed stream on its own PlainTransport, sending SRTP to the sink. */
  const sinkConsumer = async (): Promise<void> => {
    const t = await router.createPlainTransport({
      listenIp: '127.0.0.1',
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
    });
    await t.connect({
      ip: '127.0.0.1',
      port: sinkPort,
      srtpParameters: {
        cryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
        keyBase64: randomBytes(30).toString('base64'),
      },
    });
    transports.push(t);
    consumers.push(
      await t.consume({ producerId: source.producer.id, rtpCapabilities: router.rtpCapabilities }),
    );
  };
  try {
    for (let target = 0; target <= o.maxConsumers; target += o.step) {
      while (consumers.length < target) await sinkConsumer();
      await delay((RECORD_SEC + 1) * 1000); // every new consumer has seen a key frame
      const [cpu0] = await app.sfu.cpuTime();
      const sent0 = await sentBySample();
      const b0 = bytes;
      const t0 = performance.now();
      await delay(o.windowSec * 1000);
      const [cpu1] = await app.sfu.cpuTime();
      const sent1 = await sentBySample();
      const sec = (performance.now() - t0) / 1000;
      const step: Step = {
        consumers: target,
        cpu: ((cpu1!.cpuMs - cpu0!.cpuMs) / (sec * 1000)) * 100,
        delivered: target === 0 ? 0 : ((sent1 - sent0) / sec / rec.pps) * 100,
        mbps: ((bytes - b0) * 8) / sec / 1e6,
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
    for (const t of transports) t.close();
    source.stop();
    sink.close();
  }
  return rows;
}
