import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '@parley/server';
import { pinned } from './children.ts';
import type { PathRun } from './path-child.ts';
import { fmtDec, fmtInt, fmtRatio, fmtSpread, spread, table, type Spread } from './stats.ts';

const run = promisify(execFile);

/**
 * The `path` phase of `parley bench`: what each server's own code costs per relayed ICE
 * message, the kernel taken out. The open-loop phase measures what a server costs in all; most
 * of that is the kernel's TCP path and Node's socket handling, the same for both servers, so a
 * change to Parley's own code shows there only within the trials' spread. Here each server
 * relays in a process of its own over in-process sockets (path-child.ts): the figure is the
 * server's JavaScript (its WebSocket layer, JSON, checks, relay and Node's stream layer) and
 * GC, steady to a few percent from run to run.
 */

export interface PathOptions {
  /** Child processes per server, alternating (each reports the median of its rounds). */
  trials: number;
  /** Messages per timed round. */
  messages?: number;
  /** Timed rounds per child, after two rounds of warm-up. */
  rounds?: number;
  /** The CPU the children are pinned to, if any. */
  cpu?: number;
  /** Whether PeerJS runs too (each of its children after one of Parley's). */
  peerjs: boolean;
  print: (line: string) => void;
}

export interface PathFigures {
  /** Nanoseconds per relayed message: each trial's median round, over the trials. */
  parley: Spread;
  peerjs?: Spread;
  /** Parley's ÷ PeerJS's, trial by trial. */
  ratio?: Spread;
  /** Bytes of the ICE message each server was sent, and of the frame it relayed. */
  bytes: { parley: [number, number]; peerjs?: [number, number] };
}

const CHILD = fileURLToPath(new URL('./path-child.ts', import.meta.url));

/** One child's run: `server` with the Node flags it runs with in production. */
async function runChild(
  server: PathRun['server'],
  o: { messages: number; rounds: number; cpu: number | undefined },
): Promise<PathRun> {
  const flags = server === 'parley' ? [...NODE_FLAGS] : [];
  const args = [...flags, '--import', import.meta.resolve('tsx'), CHILD, server];
  const [command, argv] = pinned(o.cpu, process.execPath, [
    ...args,
    String(o.messages),
    String(o.rounds),
  ]);
  const { stdout } = await run(command, argv, { timeout: 120_000 });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as PathRun;
  // Every message must have come out the other side, or the figure is not a relay's.
  if (result.relayed !== result.sent) {
    throw new Error(`${server}: ${result.relayed} of ${result.sent} messages relayed`);
  }
  return result;
}

const median = (xs: readonly number[]) => spread(xs).median;

/** Runs the children, alternating between the servers, and sums up what they measured. */
export async function runPathPhase(o: PathOptions): Promise<PathFigures> {
  const child = { messages: o.messages ?? 50_000, rounds: o.rounds ?? 5, cpu: o.cpu };
  const parley: PathRun[] = [];
  const peerjs: PathRun[] = [];
  for (let t = 1; t <= o.trials; t++) {
    const p = await runChild('parley', child);
    parley.push(p);
    o.print(`  Parley trial ${t}: ${fmtInt(median(p.nsPerMsg))} ns/msg`);
    if (o.peerjs) {
      const j = await runChild('peerjs', child);
      peerjs.push(j);
      o.print(`  PeerJS trial ${t}: ${fmtInt(median(j.nsPerMsg))} ns/msg`);
    }
  }
  const bytes = (r: PathRun): [number, number] => [r.inBytes, r.outBytes];
  return {
    parley: spread(parley.map((r) => median(r.nsPerMsg))),
    ...(peerjs.length > 0
      ? {
          peerjs: spread(peerjs.map((r) => median(r.nsPerMsg))),
          ratio: spread(parley.map((r, i) => median(r.nsPerMsg) / median(peerjs[i]!.nsPerMsg))),
        }
      : {}),
    bytes: {
      parley: bytes(parley[0]!),
      ...(peerjs[0] ? { peerjs: bytes(peerjs[0]) } : {}),
    },
  };
}

/** Prints what the phase measured: each server per message, and their ratio. */
export function reportPath(f: PathFigures, trials: number, print: (line: string) => void): void {
  print(
    `\nThe servers' own work per relayed ICE message (no kernel: in-process sockets, ` +
      `${trials} alternating child processes per server; median (min–max))`,
  );
  const us = (ns: number) => fmtDec(ns / 1000);
  const io = (b: [number, number] | undefined) => (b ? `${b[0]} / ${b[1]}` : 'n/a');
  print(
    table(
      [
        ['', 'Parley', 'PeerJS', 'Parley/PeerJS'],
        [
          'JavaScript and GC per msg, µs',
          fmtSpread(f.parley, us),
          fmtSpread(f.peerjs, us),
          fmtSpread(f.ratio, fmtRatio),
        ],
        ['bytes in / relayed out', io(f.bytes.parley), io(f.bytes.peerjs), ''],
      ],
      '    ',
    ),
  );
}
