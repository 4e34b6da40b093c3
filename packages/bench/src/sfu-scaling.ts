import { loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { App, Producer, Router } from '@parley/server';
import { replay, SinkConsumers, UdpSink, type Recording } from './sfu-fanout.ts';
import { fmtDec, fmtInt, table } from './stats.ts';

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
  const sink = await UdpSink.open();
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
  out(summary(results, rec));
  return results;
}

/** Median and range of some values: "812 (790–840)". */
function spread(values: number[], fmt: (x: number) => string): string {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return 'n/a';
  const mid = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return v.length === 1 ? fmt(mid) : `${fmt(mid)} (${fmt(v[0]!)}–${fmt(v.at(-1)!)})`;
}

function summary(results: ScalingResult[], rec: Recording): string {
  const runs = new Set(results.map((r) => r.run)).size;
  const capacity = (t: Topology) =>
    results.filter((r) => r.topology === t).map((r) => r.carried?.consumers ?? 0);
  const one = capacity('1 worker');
  const rows = TOPOLOGIES.map((t) => {
    const of = results.filter((r) => r.topology === t);
    const carried = of.flatMap((r) => (r.carried ? [r.carried] : []));
    const ratios = of.map((r, i) => (r.carried?.consumers ?? 0) / Math.max(1, one[i] ?? 0));
    return [
      t,
      spread(capacity(t), fmtInt),
      spread(
        of.map((r) => r.projected),
        fmtInt,
      ),
      t === '1 worker' ? '1x' : `${spread(ratios, (x) => x.toFixed(2))}x`,
      spread(
        carried.flatMap((c) => c.cpu),
        (x) => `${fmtDec(x)}%`,
      ),
      spread(
        carried.map((c) => c.usPerPacket),
        fmtDec,
      ),
      spread(
        carried.map((c) => c.forwarded),
        (x) => `${fmtInt(x)}%`,
      ),
    ];
  });
  return (
    `\nscaling run: one recorded VP8 stream (${fmtInt(rec.kbps)} kbit/s, ${fmtInt(rec.pps)} ` +
    `packets/s, key frames at most ${fmtInt(rec.keyFrameGapMs)} ms apart) to PlainTransport ` +
    `consumers with SRTP; the largest fan-out with every worker ` +
    `below ${CPU_TARGET}% of a core and every consumer forwarding ≥ ${MIN_FORWARDED}%; ` +
    `median (min–max) of ${runs} run${runs === 1 ? '' : 's'}:\n` +
    table([
      [
        'topology',
        'consumers carried',
        'at 85% (projected)',
        'vs 1 worker',
        'CPU per worker',
        'µs per forwarded packet',
        'forwarded',
      ],
      ...rows,
    ])
  );
}

async function measureTopology(
  app: App,
  rec: Recording,
  o: ScalingOptions,
  sink: UdpSink,
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
      consumers: new SinkConsumers(first.router, producerId, sink.port),
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
        consumers: new SinkConsumers(second.router, producerId, sink.port),
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
  sink: UdpSink,
  rec: Recording,
  windowSec: number,
): Promise<ScalingStep> {
  const cpuOf = async () => {
    const all = await app.sfu.cpuTime();
    return legs.map((l) => all.find((w) => w.pid === l.pid)?.cpuMs ?? NaN);
  };
  const cpu0 = await cpuOf();
  const sent0 = await Promise.all(legs.map((l) => l.consumers.sentPerConsumer()));
  const arrived0 = sink.arrived();
  const received = async () =>
    (await producer.getStats()).reduce((s, x) => s + (x.packetCount ?? 0), 0);
  const in0 = await received();
  const t0 = performance.now();
  await delay(windowSec * 1000);
  const cpu1 = await cpuOf();
  const sent1 = await Promise.all(legs.map((l) => l.consumers.sentPerConsumer()));
  const arrived1 = sink.arrived();
  const in1 = await received();
  const sec = (performance.now() - t0) / 1000;
  const perConsumer = legs.map((_, i) => (sent1[i]! - sent0[i]!) / sec);
  const packets = legs.reduce((s, l, i) => s + perConsumer[i]! * l.consumers.count, 0);
  const cpuMs = legs.reduce((s, _, i) => s + (cpu1[i]! - cpu0[i]!), 0);
  return {
    consumers: legs.reduce((s, l) => s + l.consumers.count, 0),
    cpu: legs.map((_, i) => ((cpu1[i]! - cpu0[i]!) / (sec * 1000)) * 100),
    forwarded: Math.min(...perConsumer.map((p) => (p / rec.pps) * 100)),
    usPerPacket: (cpuMs * 1000) / (packets * sec),
    arrived: ((arrived1 - arrived0) / sec / packets) * 100,
    source: ((in1 - in0) / sec / rec.pps) * 100,
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
