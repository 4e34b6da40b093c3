import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { cpuMicros, machineMicros, pageFaults, softirqMicros } from './children.ts';
import { stampAt, stampMs } from './payloads.ts';
import type { RelayPair, RelayTarget } from './relay.ts';
import { latency, type Latency } from './stats.ts';

/**
 * The open-loop regime: the load a signaling server actually runs at. Every side of every
 * pair sends one ICE message `ratePerSide` times a second whatever the server does (open
 * loop: the schedule does not wait for replies), the sends of all sides spread evenly over
 * the period, so each message reaches the server in a write of its own rather than batched
 * with others of its socket. A message's latency runs from the time it was scheduled, not the
 * time it went out, so that a stalled server (or load generator) is charged for the messages
 * it held back too (no coordinated omission).
 */

export interface OpenLoopOptions {
  /** Messages each side of a pair sends per second (8: a trickle, well inside the rate limit). */
  ratePerSide: number;
  /** Length of the measured window, s. */
  seconds: number;
  /** Sending before the window, not measured (connections warm, server JIT steady), s. */
  warmupSeconds: number;
  /** After the window, how long to wait for its last messages, ms. */
  drainMs: number;
}

export interface OpenLoopResult {
  pairs: number;
  /** Messages/s offered (2 × pairs × ratePerSide). */
  offeredPerSec: number;
  /** Messages sent in the window. */
  sent: number;
  /** Messages that arrived in the window (by arrival time): achieved msgs/s = this ÷ window. */
  arrived: number;
  /** Of the messages sent in the window, those that never arrived (by the end of the drain). */
  lost: number;
  /** Frames that were not a relayed ICE message (refusals, errors). */
  unexpected: number;
  windowMs: number;
  achievedPerSec: number;
  /** Scheduled send → arrival, over the window's messages. */
  latency: Latency;
  /** Server CPU time in the window, µs (undefined when it is not our child). */
  cpuUs?: number;
  cpuUsPerMessage?: number;
  /** The server's page faults in the window (undefined when it is not our child; see pageFaults). */
  serverFaults?: number;
  /** This process's (the load generator's) CPU time in the window, µs. */
  clientCpuUs: number;
  machineCpuUs?: number;
  softirqCpuUs?: number;
  /**
   * The load generator's longest event-loop stall in the window, ms (its own GC, or its CPU
   * taken by the host): every message sent or received across it is late by as much, whichever
   * server is measured, so a p99 near this figure is the harness's, not the server's.
   */
  loadGenStallMs: number;
}

interface CpuMark {
  server: number | undefined;
  faults: number | undefined;
  own: NodeJS.CpuUsage;
  machine: number | undefined;
  softirq: number | undefined;
}

const mark = (pid: number | undefined): CpuMark => ({
  server: cpuMicros(pid),
  faults: pageFaults(pid),
  own: process.cpuUsage(),
  machine: machineMicros(),
  softirq: softirqMicros(),
});

const STALL_RESOLUTION_MS = 5;

const diff = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? b - a : undefined;

/**
 * Gives every pair the offer/answer of a negotiated call, as a browser's trickle follows them
 * (Parley holds ICE that comes before a call's first offer, see relay/ice-buffer.ts).
 */
export function prime(target: RelayTarget, pairs: readonly RelayPair[], timeoutMs = 30_000) {
  const offer = Buffer.from(target.kinds.offer);
  const answer = Buffer.from(target.kinds.answer);
  const is = (frame: Buffer, kind: Buffer) =>
    frame.length >= kind.length && kind.compare(frame, 0, kind.length) === 0;
  return new Promise<void>((resolve, reject) => {
    let left = pairs.length;
    const timer = setTimeout(
      () => reject(new Error(`${target.name}: ${left} pairs not primed in ${timeoutMs} ms`)),
      timeoutMs,
    );
    for (const p of pairs) {
      p.b.onFrame = (frame) => {
        if (is(frame, offer)) p.b.send(p.answer.make());
      };
      p.a.onFrame = (frame) => {
        if (!is(frame, answer)) return;
        p.a.onFrame = p.b.onFrame = () => {};
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      p.a.send(p.offer.make());
    }
  });
}

/** One open-loop trial over already open (and primed) `pairs`. */
export function runOpenLoop(
  target: RelayTarget,
  pairs: readonly RelayPair[],
  o: OpenLoopOptions,
): Promise<OpenLoopResult> {
  const senders = 2 * pairs.length;
  // The m-th send of the whole run is sender m % senders's, at t0 + m × step.
  const step = 1000 / o.ratePerSide / senders;
  const warmSends = Math.round((o.warmupSeconds * 1000) / step);
  const total = warmSends + Math.round((o.seconds * 1000) / step);
  const lat = new Float64Array(total - warmSends);
  const kind = Buffer.from(target.kinds.ice);
  let received = 0; // messages of the window that arrived
  let arrived = 0; // arrivals while the window is open, of any send time
  let unexpected = 0;
  let inWindow = false;
  // A 5 ms sampling timer: fine enough for the stalls that set a p99 (tens of ms), coarse
  // enough not to load the generator it watches.
  const stalls = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS });

  return new Promise((resolve) => {
    const t0 = performance.now() + 5;
    const w0 = t0 + warmSends * step;
    const w1 = t0 + total * step;
    let m = 0;
    // Keepalives (see RelayTarget.keepalive): client k's j-th at t0 + (j × clients + k) × kStep.
    const keep = target.keepalive;
    const kStep = keep ? keep.everyMs / senders : Infinity;
    let k = 0;
    let start: CpuMark | undefined;
    let end: CpuMark | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      clearTimeout(drainTimer);
      for (const p of pairs) p.a.onFrame = p.b.onFrame = () => {};
      const windowMs = w1 - w0;
      const cpuUs = diff(start!.server, end!.server);
      const serverFaults = diff(start!.faults, end!.faults);
      const sent = total - warmSends;
      resolve({
        pairs: pairs.length,
        offeredPerSec: senders * o.ratePerSide,
        sent,
        arrived,
        lost: sent - received,
        unexpected,
        windowMs,
        achievedPerSec: (arrived / windowMs) * 1000,
        latency: latency(lat, received),
        ...(cpuUs !== undefined ? { cpuUs, cpuUsPerMessage: cpuUs / arrived } : {}),
        ...(serverFaults !== undefined ? { serverFaults } : {}),
        loadGenStallMs: stalls.max / 1e6,
        clientCpuUs: end!.own.user + end!.own.system - start!.own.user - start!.own.system,
        ...(diff(start!.machine, end!.machine) !== undefined
          ? { machineCpuUs: diff(start!.machine, end!.machine)! }
          : {}),
        ...(diff(start!.softirq, end!.softirq) !== undefined
          ? { softirqCpuUs: diff(start!.softirq, end!.softirq)! }
          : {}),
      });
    };

    const onFrame = (frame: Buffer) => {
      if (frame.length < kind.length || kind.compare(frame, 0, kind.length) !== 0) {
        unexpected++;
        return;
      }
      const now = performance.now();
      if (inWindow) arrived++;
      const at = stampMs(frame);
      if (at >= w0 - 0.001 && at < w1 - 0.001) {
        lat[received++] = now - at;
        if (end && received === lat.length) finish();
      }
    };
    for (const p of pairs) p.a.onFrame = p.b.onFrame = onFrame;

    const tick = () => {
      const now = performance.now();
      while (m < total && t0 + m * step <= now) {
        if (m === warmSends && start === undefined) {
          start = mark(target.pid);
          inWindow = true;
          stalls.enable();
        }
        const p = pairs[(m >> 1) % pairs.length]!;
        const at = stampAt(t0 + m * step);
        if (m & 1) p.b.send(p.trickleB.make(at));
        else p.a.send(p.trickleA.make(at));
        m++;
      }
      while (keep && t0 + k * kStep <= now && t0 + k * kStep < w1) {
        const p = pairs[(k >> 1) % pairs.length]!;
        (k & 1 ? p.b : p.a).send(keep.frame);
        k++;
      }
      if (m < total) {
        const next = Math.min(t0 + m * step, t0 + k * kStep);
        setTimeout(tick, Math.max(0, next - performance.now()));
        return;
      }
      // The window closes when its last message is due; what arrives later counts for latency.
      end = mark(target.pid);
      inWindow = false;
      stalls.disable();
      if (received === lat.length) finish();
      else drainTimer = setTimeout(finish, o.drainMs);
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}
