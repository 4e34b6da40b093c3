import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { App, Producer, Router } from '@parley/server';
import {
  openSink,
  replay,
  SinkConsumers,
  type Recording,
  type Sink,
  type SinkKind,
} from './sfu-fanout.ts';
import { fmtDec, fmtInt, table } from './stats.ts';
import type { SrtcpSuite } from './srtcp.ts';

/**
 * The scaling run of `parley bench-sfu --scaling`: the largest fan-out of one recorded stream
 * that one worker, two workers of one node, and two nodes carry, in one run and several times.
 *
 * - 1 worker: the stream's router and every consumer on one worker.
 * - 2 workers: the stream's router on one worker, `router.pipeToRouter` to a router on the
 *   other; the consumers are split evenly between the two routers.
 * - 2 nodes: the same two worker processes stand for two nodes; the producer crosses over a
 *   PipeTransport pair connected over loopback, set up by hand as mediasoup documents for
 *   piping between hosts (each side's tuple given to the other, `consume` on one side and
 *   `produce` with the consumer's RTP parameters on the other).
 *
 * A step adds `step` consumers per worker, waits for every new one to get its first key frame,
 * then measures a window. A worker carries a step while it stays below 85% of a core (its own
 * rusage) and every router's consumers forward at least 95% of the stream's packets.
 */
export interface ScalingOptions {
  /** Consumers added per worker per step. */
  step: number;
  /** Stop at this many consumers per worker even below the CPU target. */
  maxPerWorker: number;
  /** Seconds of each measurement window. */
  windowSec: number;
  /** What the consumers send to: see Sink. */
  sink: SinkKind;
  /** The consumers' SRTP crypto suite. */
  srtp: SrtcpSuite;
  /** How many times each topology is measured. */
  runs: number;
}

export type Topology = '1 worker' | '2 workers' | '2 nodes';
const TOPOLOGIES: Topology[] = ['1 worker', '2 workers', '2 nodes'];

/** The CPU share of one core a worker may use. */
export const CPU_TARGET = 85;
/** The share of the stream's packets every consumer must send. */
export const MIN_FORWARDED = 95;

/** One measured step. */
export interface ScalingStep {
  consumers: number;
  /** CPU of each worker, % of one core. */
  cpu: number[];
  /** The lowest share, over the routers, of the stream's packets a consumer sent (%). */
  forwarded: number;
  /** Worker CPU time per packet sent by a consumer, all workers together (µs). */
  usPerPacket: number;
  /** Packets per second that reached the sink, as a share of what the consumers sent (%). */
  arrived: number;
  /** Packets the stream's producer received, as a share of the recording's rate (%). */
  source: number;
}

/** The outcome of one topology in one run: the last step it carried. */
export interface ScalingResult {
  topology: Topology;
  run: number;
  carried: ScalingStep | null;
  /**
   * Consumers at 85% of a core on every worker, from the CPU per forwarded packet of the largest
   * step: what the workers would carry with the cores to themselves (on a loaded machine a
   * worker may not get 85% of a core, and the measured fan-out stops short).
   */
  projected: number;
  steps: ScalingStep[];
}

/** A router of the run with the consumers it serves. */
interface Leg {
  router: Router;
  pid: number;
  consumers: SinkConsumers;
}

/** Runs every topology `o.runs` times and prints the figures. */
export async function runScaling(
  app: App,
  rec: Recording,
  o: ScalingOptions,
  out: (s: string) => void,
): Promise<ScalingResult[]> {
  const sink = await openSink(o.sink);
  const results: ScalingResult[] = [];
  try {
    for (let run = 1; run <= o.runs; run++) {
      for (const topology of TOPOLOGIES) {
        const result = await measureTopology(app, rec, o, sink, topology, run);
        results.push(result);
        const c = result.carried;
        process.stderr.write(
          `  … run ${run}, ${topology}: ${fmtInt(c?.consumers ?? 0)} consumers carried ` +
            `(load average ${loadavg()[0]!.toFixed(1)})\n`,
        );
      }
    }
  } finally {
    sink.close();
  }
  out(summary(results, rec, o.srtp));
  return results;
}

/** Median and range of some values: "812 (790–840)". */
function spread(values: number[], fmt: (x: number) => string): string {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return 'n/a';
  const mid = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return v.length === 1 ? fmt(mid) : `${fmt(mid)} (${fmt(v[0]!)}–${fmt(v.at(-1)!)})`;
}

function summary(results: ScalingResult[], rec: Recording, srtp: SrtcpSuite): string {
  const runs = new Set(results.map((r) => r.run)).size;
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const of = (t: Topology) => results.filter((r) => r.topology === t);
  const carried = (t: Topology) => of(t).map((r) => r.carried?.consumers ?? 0);
  const projected = (t: Topology) => of(t).map((r) => r.projected);
  /** A topology's median against one worker's: "1.93x". */
  const ratio = (v: number[], one: number[]) =>
    median(one) > 0 ? `${(median(v) / median(one)).toFixed(2)}x` : 'n/a';
  const rows = TOPOLOGIES.map((t) => {
    const steps = of(t).flatMap((r) => (r.carried ? [r.carried] : []));
    return [
      t,
      spread(carried(t), fmtInt),
      ratio(carried(t), carried('1 worker')),
      spread(projected(t), fmtInt),
      ratio(projected(t), projected('1 worker')),
      spread(
        steps.flatMap((c) => c.cpu),
        (x) => `${fmtDec(x)}%`,
      ),
      spread(
        of(t).flatMap((r) => r.steps.map((s) => s.usPerPacket)),
        fmtDec,
      ),
    ];
  });
  return (
    `\nscaling run: one recorded VP8 stream (${fmtInt(rec.kbps)} kbit/s, ${fmtInt(rec.pps)} ` +
    `packets/s, key frames at most ${fmtInt(rec.keyFrameGapMs)} ms apart) to PlainTransport ` +
    `consumers with SRTP (${srtp}); "carried": the largest fan-out measured with every worker below ` +
    `${CPU_TARGET}% of a core and every consumer forwarding ≥ ${MIN_FORWARDED}% of the stream; ` +
    `"at ${CPU_TARGET}%": from the CPU per packet of the largest step; median (min–max) of ` +
    `${runs} run${runs === 1 ? '' : 's'} (CPU per worker at the carried step; µs over every step):\n` +
    table([
      [
        'topology',
        'carried',
        'vs 1 worker',
        `at ${CPU_TARGET}%`,
        'vs 1 worker',
        'CPU per worker',
        'µs per forwarded packet',
      ],
      ...rows,
    ])
  );
}

async function measureTopology(
  app: App,
  rec: Recording,
  o: ScalingOptions,
  sink: Sink,
  topology: Topology,
  run: number,
): Promise<ScalingResult> {
  const first = await app.sfu.createRouter({ bench: topology });
  const source = await replay(first.router, rec);
  const producerId = source.producer.id;
  const legs: Leg[] = [
    {
      router: first.router,
      pid: first.workerPid,
      consumers: new SinkConsumers(first.router, producerId, sink, o.srtp),
    },
  ];
  const routers = [first.router];
  try {
    if (topology !== '1 worker') {
      // The stream's producer counts as load on the first worker: the pool picks the other.
      const second = await app.sfu.createRouter({ bench: topology });
      routers.push(second.router);
      if (second.workerPid === first.workerPid) {
        throw new Error('the SFU pool put both routers of the run on one worker');
      }
      if (topology === '2 workers') {
        await first.router.pipeToRouter({ producerId, router: second.router });
      } else {
        await pipeAsBetweenNodes(first.router, second.router, producerId);
      }
      legs.push({
        router: second.router,
        pid: second.workerPid,
        consumers: new SinkConsumers(second.router, producerId, sink, o.srtp),
      });
    }
    const steps: ScalingStep[] = [];
    let carried: ScalingStep | null = null;
    for (let perWorker = o.step; perWorker <= o.maxPerWorker; perWorker += o.step) {
      // Every new consumer forwards from its first key frame on.
      await Promise.all(legs.map((l) => l.consumers.grow(perWorker, rec.keyFrameGapMs + 3000)));
      const step = await measureStep(app, source.producer, legs, sink, rec, o.windowSec);
      steps.push(step);
      process.stderr.write(
        `  … run ${run}, ${topology}, ${step.consumers} consumers: CPU ` +
          `${step.cpu.map((c) => `${fmtDec(c)}%`).join(' + ')}, ${fmtInt(step.forwarded)}% ` +
          `forwarded (source ${fmtInt(step.source)}%), ${fmtDec(step.usPerPacket)} µs per packet\n`,
      );
      if (step.cpu.some((c) => c >= CPU_TARGET) || step.forwarded < MIN_FORWARDED) break;
      carried = step;
    }
    const largest = steps.at(-1);
    const projected = largest
      ? (legs.length * CPU_TARGET * 1e4) / (largest.usPerPacket * rec.pps)
      : 0;
    return { topology, run, carried, projected, steps };
  } finally {
    for (const leg of legs) leg.consumers.close();
    source.stop();
    for (const r of routers) r.close();
  }
}

async function measureStep(
  app: App,
  producer: Producer,
  legs: Leg[],
  sink: Sink,
  rec: Recording,
  windowSec: number,
): Promise<ScalingStep> {
  // Every counter at once, timed at the middle of its requests: on a loaded machine a request
  // to a worker can take a while, and counters read one after another would span more time
  // than the window.
  const snapshot = async () => {
    const before = performance.now();
    const [workers, sent, stats, arrived] = await Promise.all([
      app.sfu.cpuTime(),
      Promise.all(legs.map((l) => l.consumers.sentPerConsumer())),
      producer.getStats(),
      sink.arrived(),
    ]);
    return {
      at: (before + performance.now()) / 2,
      cpuMs: legs.map((l) => workers.find((w) => w.pid === l.pid)?.cpuMs ?? NaN),
      sent,
      received: stats.reduce((s, x) => s + x.packetCount, 0),
      arrived,
    };
  };
  const s0 = await snapshot();
  await delay(windowSec * 1000);
  const s1 = await snapshot();
  const sec = (s1.at - s0.at) / 1000;
  const received = s1.received - s0.received;
  const sentEach = legs.map((_, i) => s1.sent[i]! - s0.sent[i]!);
  const packets = legs.reduce((s, l, i) => s + sentEach[i]! * l.consumers.count, 0);
  const cpuMs = legs.map((_, i) => s1.cpuMs[i]! - s0.cpuMs[i]!);
  return {
    consumers: legs.reduce((s, l) => s + l.consumers.count, 0),
    cpu: cpuMs.map((ms) => (ms / (sec * 1000)) * 100),
    // Of the stream's rate: a worker that falls behind also leaves its ingest socket unread,
    // and the packets it drops there are not forwarded either.
    forwarded: Math.min(...sentEach.map((n) => (n / sec / rec.pps) * 100)),
    usPerPacket: (cpuMs.reduce((a, b) => a + b, 0) * 1000) / packets,
    arrived: ((s1.arrived - s0.arrived) / packets) * 100,
    source: (received / sec / rec.pps) * 100,
  };
}

/**
 * Pipes a producer from one router to another as two nodes would: a PipeTransport on each
 * side, each connected to the other's tuple, a pipe consumer on the first and a producer with
 * the same id and the consumer's RTP parameters on the second.
 */
async function pipeAsBetweenNodes(from: Router, to: Router, producerId: string): Promise<void> {
  const a = await from.createPipeTransport({ listenIp: '127.0.0.1' });
  const b = await to.createPipeTransport({ listenIp: '127.0.0.1' });
  await a.connect({ ip: '127.0.0.1', port: b.tuple.localPort });
  await b.connect({ ip: '127.0.0.1', port: a.tuple.localPort });
  const pipeConsumer = await a.consume({ producerId });
  await b.produce({
    id: producerId,
    kind: pipeConsumer.kind,
    rtpParameters: pipeConsumer.rtpParameters,
    paused: pipeConsumer.producerPaused,
  });
}
