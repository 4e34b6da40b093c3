import type { OpenCapacity } from './open-capacity.ts';
import { prime, runOpenLoop, type OpenLoopOptions, type OpenLoopResult } from './open-loop.ts';
import type { RelayPair, RelayTarget } from './relay.ts';
import { fmtDec, fmtInt, fmtMs, fmtRatio, fmtSpread, spread, table, type Spread } from './stats.ts';
import type { ClientKind } from './ws-client.ts';

/**
 * The open-loop phase of `parley bench`: for each load generator and each offered load, both
 * servers get the same pairs and schedule, trials alternating between them so that other
 * load on the machine hits both alike; every figure is the median of the trials with its
 * range (min–max), and the CPU ratio is taken trial by trial (Parley's trial k against
 * PeerJS's trial k, run back to back).
 */

export interface OpenPhaseOptions {
  /** Parley first; PeerJS second when compared. */
  targets: readonly RelayTarget[];
  /** Offered loads as fractions of `capacity` (msgs/s, see open-capacity.ts). */
  loads: readonly number[];
  capacity?: number;
  /** Pair counts to run instead of loads. */
  pairs?: readonly number[];
  clients: readonly ClientKind[];
  trials: number;
  loop: OpenLoopOptions;
  tag: string;
  print: (line: string) => void;
}

export interface OpenServerFigures {
  cpuUsPerMessage?: Spread;
  msgsPerSec: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Server CPU, % of one core. */
  serverPct?: Spread;
  /** The load generator's CPU, % of one core. */
  clientPct: Spread;
  /** The load generator's longest event-loop stall in a trial, ms (see OpenLoopResult). */
  loadGenStallMs: Spread;
  /** The server's page faults in a trial (see OpenLoopResult). */
  serverFaults?: Spread;
  /** Sum over the trials: messages that never arrived, frames that were not relayed ICE. */
  lost: number;
  unexpected: number;
}

export interface OpenLoadFigures {
  client: ClientKind;
  /** Offered ÷ capacity, when the capacity was measured. */
  load?: number;
  pairs: number;
  offeredPerSec: number;
  parley: OpenServerFigures;
  peerjs?: OpenServerFigures;
  /** Parley's CPU per message ÷ PeerJS's, trial by trial. */
  cpuRatio?: Spread;
  /** Parley's p99 ÷ PeerJS's, trial by trial. */
  p99Ratio?: Spread;
}

function figures(rs: readonly OpenLoopResult[]): OpenServerFigures {
  const pct = (us: number, r: OpenLoopResult) => us / 10 / r.windowMs;
  const cpu = rs.every((r) => r.cpuUsPerMessage !== undefined);
  return {
    ...(cpu
      ? {
          cpuUsPerMessage: spread(rs.map((r) => r.cpuUsPerMessage!)),
          serverPct: spread(rs.map((r) => pct(r.cpuUs!, r))),
        }
      : {}),
    msgsPerSec: spread(rs.map((r) => r.achievedPerSec)),
    p50Ms: spread(rs.map((r) => r.latency.p50)),
    p99Ms: spread(rs.map((r) => r.latency.p99)),
    clientPct: spread(rs.map((r) => pct(r.clientCpuUs, r))),
    loadGenStallMs: spread(rs.map((r) => r.loadGenStallMs)),
    ...(rs.every((r) => r.serverFaults !== undefined)
      ? { serverFaults: spread(rs.map((r) => r.serverFaults!)) }
      : {}),
    lost: rs.reduce((n, r) => n + r.lost, 0),
    unexpected: rs.reduce((n, r) => n + r.unexpected, 0),
  };
}

/** Runs every (client, load) cell; returns their figures and prints them as it goes. */
export async function runOpenPhase(o: OpenPhaseOptions): Promise<OpenLoadFigures[]> {
  const perPair = 2 * o.loop.ratePerSide;
  const cells: Array<{ pairs: number; load?: number }> = o.pairs
    ? o.pairs.map((pairs) => ({
        pairs,
        ...(o.capacity ? { load: (pairs * perPair) / o.capacity } : {}),
      }))
    : o.loads.map((load) => ({
        pairs: Math.max(1, Math.round((load * o.capacity!) / perPair)),
        load,
      }));
  const out: OpenLoadFigures[] = [];
  let opened = 0;
  for (const client of o.clients) {
    for (const cell of cells) {
      const name = `${client} ${cell.load === undefined ? '' : `${fmtInt(cell.load * 100)}% `}${fmtInt(cell.pairs)} pairs`;
      const open = new Map<RelayTarget, RelayPair[]>();
      const runs = new Map<RelayTarget, OpenLoopResult[]>(o.targets.map((t) => [t, []]));
      try {
        for (const t of o.targets) {
          const ps = await t.open(cell.pairs, `${o.tag}o${opened++}`, client);
          open.set(t, ps);
          await prime(t, ps);
        }
        for (let k = 0; k < o.trials; k++) {
          for (const t of o.targets) {
            const r = await runOpenLoop(t, open.get(t)!, o.loop);
            runs.get(t)!.push(r);
            o.print(
              `  ${name}, ${t.name.padEnd(6)} trial ${k + 1}: ${fmtInt(r.achievedPerSec)} of ` +
                `${fmtInt(r.offeredPerSec)} msgs/s, ${fmtDec(r.cpuUsPerMessage)} µs/msg, ` +
                `p50 ${fmtMs(r.latency.p50)}, p99 ${fmtMs(r.latency.p99)}, ` +
                `load gen stall ${fmtMs(r.loadGenStallMs)}` +
                (r.serverFaults !== undefined ? `, ${fmtInt(r.serverFaults)} page faults` : '') +
                (r.lost || r.unexpected ? `, ${r.lost} lost, ${r.unexpected} unexpected` : ''),
            );
          }
        }
      } finally {
        for (const [t, ps] of open) await t.close(ps);
      }
      const p = runs.get(o.targets[0]!)!;
      const j = o.targets[1] ? runs.get(o.targets[1])! : undefined;
      const byTrial = (f: (r: OpenLoopResult) => number | undefined) =>
        j && p.every((r, i) => f(r) !== undefined && f(j[i]!) !== undefined)
          ? spread(p.map((r, i) => f(r)! / f(j[i]!)!))
          : undefined;
      const cpuRatio = byTrial((r) => r.cpuUsPerMessage);
      const p99Ratio = byTrial((r) => r.latency.p99);
      out.push({
        client,
        ...(cell.load !== undefined ? { load: cell.load } : {}),
        pairs: cell.pairs,
        offeredPerSec: cell.pairs * perPair,
        parley: figures(p),
        ...(j ? { peerjs: figures(j) } : {}),
        ...(cpuRatio ? { cpuRatio } : {}),
        ...(p99Ratio ? { p99Ratio } : {}),
      });
    }
  }
  return out;
}

const okMark = (ok: boolean) => (ok ? '  ✓' : '  ✗');

/** Whether a cell meets the targets: CPU ≤ 0.9× PeerJS's and p99 no worse (trial-by-trial ratios, medians). */
export function openTargets(c: OpenLoadFigures): { cpu: boolean; p99: boolean } | undefined {
  if (!c.peerjs || !c.cpuRatio) return undefined;
  return { cpu: c.cpuRatio.median <= 0.9, p99: (c.p99Ratio?.median ?? Infinity) <= 1 };
}

export function reportOpen(
  cells: readonly OpenLoadFigures[],
  o: { trials: number; loop: OpenLoopOptions; capacity?: number; probe?: OpenCapacity },
  print: (line: string) => void,
): void {
  const base = o.probe
    ? `the lower server's capacity unbatched, probed at ${fmtInt(o.probe.probe.pairs)} pairs; ` +
      `phase 2's, batched: ${fmtInt(o.probe.batched)}`
    : `phase 2's saturation, batched: a running server's CPU is not measured`;
  print(
    `\nOpen loop: each side of a pair sends one ~300-byte ICE message ${o.loop.ratePerSide}×/s, ` +
      `spread (one message per write), latency from the scheduled send; ${o.loop.seconds} s ` +
      `windows after ${o.loop.warmupSeconds} s of warm-up, ${o.trials} alternating trials; ` +
      `median (min–max); each server's clients keep their connections alive as its own ` +
      `client does (PeerJS: a HEARTBEAT every 5 s; Parley: pongs to the server's pings)` +
      (o.capacity ? `; load = offered ÷ ${fmtInt(o.capacity)} msgs/s (${base})` : ''),
  );
  for (const c of cells) {
    const t = openTargets(c);
    const head = `${c.client === 'ws' ? '`ws` client' : 'lean client'}, ${
      c.load === undefined ? '' : `load ${fmtInt(c.load * 100)}%, `
    }${fmtInt(c.pairs)} pairs, ${fmtInt(c.offeredPerSec)} msgs/s offered`;
    const row = (name: string, f: (v: OpenServerFigures) => string, last = '') =>
      c.peerjs ? [name, f(c.parley), f(c.peerjs), last] : [name, f(c.parley)];
    print(`  ${head}`);
    print(
      table(
        [
          c.peerjs ? ['', 'Parley', 'PeerJS', 'Parley/PeerJS'] : ['', 'Parley'],
          row(
            'server CPU per relayed msg, µs',
            (v) => fmtSpread(v.cpuUsPerMessage, fmtDec),
            c.cpuRatio ? fmtSpread(c.cpuRatio, fmtRatio) + (t ? okMark(t.cpu) : '') : '',
          ),
          row('latency p50', (v) => fmtSpread(v.p50Ms, fmtMs)),
          row(
            'latency p99',
            (v) => fmtSpread(v.p99Ms, fmtMs),
            c.p99Ratio ? fmtSpread(c.p99Ratio, fmtRatio) + (t ? okMark(t.p99) : '') : '',
          ),
          row('load gen longest stall', (v) => fmtSpread(v.loadGenStallMs, fmtMs)),
          row('server page faults', (v) => fmtSpread(v.serverFaults, fmtInt)),
          row('msgs/s achieved', (v) => fmtSpread(v.msgsPerSec, fmtInt)),
          row(
            'CPU %: server / load gen',
            (v) => `${fmtSpread(v.serverPct, fmtInt)} / ${fmtInt(v.clientPct.median)}`,
          ),
          row('lost / unexpected frames', (v) => `${v.lost} / ${v.unexpected}`),
        ],
        '    ',
      ),
    );
  }
}
