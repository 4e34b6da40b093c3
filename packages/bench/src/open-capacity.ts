import { prime, runOpenLoop, type OpenLoopOptions } from './open-loop.ts';
import type { RelayTarget } from './relay.ts';
import { fmtDec, fmtInt, fmtMs } from './stats.ts';

/**
 * What the open loop's loads are fractions of: the lower server's capacity in the regime the
 * open loop measures, one message per socket wake-up.
 *
 * Phase 2's saturation capacity is the wrong base for that. It is measured with every socket
 * sending back to back, so each read carries several frames and each write several relayed
 * ones, and a server gets through more messages per core than when each message wakes it on
 * its own. 75% of it was past what either server relays unbatched on the last VMs: both ran
 * their core at 82–99% and queued (p50 up to 140 ms). A server that is out of CPU and still
 * keeps up spends a whole core on the offered rate, so both came out near the same CPU per
 * message (0.98× and 1.05× on the eighth VM) whatever their own costs: the cell compared
 * little but the queues.
 *
 * So the capacity is probed in the open loop itself: each server runs one trial at `PROBE_LOAD`
 * of phase 2's capacity, and its capacity is the offered rate over the share of a core it
 * used (1e6 ÷ its CPU µs per message). A message costs more at a light load than at a heavy
 * one (fewer wake-ups are shared), so a probe well below saturation errs low, towards loads
 * that are below it. A probe that found a server busier than `MAX_PROBE_BUSY` (queueing,
 * batching, so cheaper per message) is run again at a lower load.
 */

/** The probe's load, as a fraction of phase 2's (batched) saturation capacity. */
export const PROBE_LOAD = 0.5;
/** Above this share of a core in the probe, a server may be queueing: probe lower. */
export const MAX_PROBE_BUSY = 0.85;
const PROBE_ATTEMPTS = 3;

export interface OpenCapacity {
  /** msgs/s: the lower of the servers' probed capacities. */
  capacity: number;
  /** Phase 2's saturation capacity (the lower server's), which sized the first probe. */
  batched: number;
  probe: {
    pairs: number;
    offeredPerSec: number;
    /** Per server, in target order: CPU per relayed message (µs) and share of a core. */
    cpuUsPerMessage: number[];
    busy: number[];
  };
}

/**
 * Runs the probe (the lean client, one trial per server) and returns the capacity, or
 * undefined when a server's CPU is not ours to measure (a running server: `--url`).
 */
export async function probeOpenCapacity(o: {
  targets: readonly RelayTarget[];
  batched: number;
  loop: OpenLoopOptions;
  tag: string;
  print: (line: string) => void;
}): Promise<OpenCapacity | undefined> {
  if (o.targets.some((t) => t.pid === undefined)) return undefined;
  const perPair = 2 * o.loop.ratePerSide;
  let pairs = Math.max(1, Math.round((PROBE_LOAD * o.batched) / perPair));
  for (let attempt = 1; ; attempt++) {
    const cpuUsPerMessage: number[] = [];
    const busy: number[] = [];
    for (const [i, t] of o.targets.entries()) {
      const ps = await t.open(pairs, `${o.tag}${attempt}p${i}`, 'lean');
      try {
        await prime(t, ps);
        const r = await runOpenLoop(t, ps, o.loop);
        cpuUsPerMessage.push(r.cpuUsPerMessage!);
        busy.push(r.cpuUs! / 1000 / r.windowMs);
        o.print(
          `  capacity probe, ${t.name.padEnd(6)} ${fmtInt(pairs)} pairs: ${fmtInt(r.achievedPerSec)} of ` +
            `${fmtInt(r.offeredPerSec)} msgs/s, ${fmtInt(busy[i]! * 100)}% of a core, ` +
            `${fmtDec(r.cpuUsPerMessage)} µs/msg (${fmtInt(1e6 / r.cpuUsPerMessage!)} msgs/s ` +
            `per core), p50 ${fmtMs(r.latency.p50)}`,
        );
      } finally {
        await t.close(ps);
      }
    }
    const next = attempt < PROBE_ATTEMPTS ? probeAgainAt(pairs, busy) : undefined;
    if (next === undefined)
      return {
        capacity: 1e6 / Math.max(...cpuUsPerMessage),
        batched: o.batched,
        probe: { pairs, offeredPerSec: pairs * perPair, cpuUsPerMessage, busy },
      };
    pairs = next;
  }
}

/**
 * After a probe at `pairs` that kept the servers `busy` (shares of a core), the pairs to probe
 * again at, or undefined when the probe stands: a server above MAX_PROBE_BUSY may have been
 * queueing, so the next probe aims at 80% of that bound, scaled by the busiest server's share.
 */
export function probeAgainAt(pairs: number, busy: readonly number[]): number | undefined {
  const busiest = Math.max(...busy);
  if (busiest <= MAX_PROBE_BUSY || pairs === 1) return undefined;
  return Math.max(1, Math.floor((pairs * MAX_PROBE_BUSY * 0.8) / busiest));
}
