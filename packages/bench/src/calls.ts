import { performance } from 'node:perf_hooks';
import { cpuMicros, machineMicros, softirqMicros } from './children.ts';
import { ANSWER_SDP, OFFER_SDP, candidate } from './payloads.ts';
import { openAll, resetTallies, sumTallies, type BenchSocket, type Tally } from './sockets.ts';
import { latency, type Latency } from './stats.ts';

/** Trickled ICE candidates per side, in the complete calls and in the relay phase. */
export const ICE_PER_SIDE = 4;

/**
 * Messages each party of a complete call sends: the caller invite, offer, 4 ICE, hangup (7),
 * the callee accept, answer, 4 ICE (6). Every one of them counts against the user's bucket.
 */
export const CALLER_MESSAGES = 3 + ICE_PER_SIDE;

export interface CallsOptions {
  /** `ws://host:port` of the Parley server. */
  wsBase: string;
  mint: (userId: string) => Promise<string>;
  /** Prefix that makes this run's user ids unique. */
  tag: string;
  /** Concurrent calls (slots). */
  calls: number;
  /** Calls each slot makes one after another. */
  rounds: number;
  /** Calls one user may make without exceeding its rate-limit burst (see index.ts). */
  callsPerUser: number;
  /** Server process to read CPU time from, when it is our child. */
  pid?: number;
  timeoutMs?: number;
}

export interface CallsResult {
  calls: number;
  users: number;
  /** Minting tokens and connecting every user, ms. */
  setupMs: number;
  elapsedMs: number;
  frames: Tally;
  setup: Latency;
  /** Server CPU time during the rounds, µs. */
  cpuUs?: number;
  /** CPU time of all cores during the run (whole machine), µs. */
  machineCpuUs?: number;
  /** CPU time of the kernel's softirq threads during the run, µs. */
  softirqCpuUs?: number;
  /** This process's (the load generator's) CPU time during the rounds, µs. */
  clientCpuUs: number;
}

// Every frame after the invite names the call; the rest of each frame is fixed.
const SDP_OFFER = JSON.stringify(OFFER_SDP.replace('TTTTTTTTTTTT', '000000000000'));
const SDP_ANSWER = JSON.stringify(ANSWER_SDP.replace('TTTTTTTTTTTT', '000000000000'));
const iceJson = (from: number) =>
  Array.from({ length: ICE_PER_SIDE }, (_, i) =>
    JSON.stringify(candidate(from + i)).replace('TTTTTTTTTTTT', '000000000000'),
  );
const ICE_CALLER = iceJson(0);
const ICE_CALLEE = iceJson(ICE_PER_SIDE);
const frame = (type: string, callId: string, rest = '') =>
  `{"type":"${type}","data":{"callId":"${callId}"${rest}}}`;

/**
 * A native frame's type and call id, read without parsing the whole frame (it may carry a
 * 1.5 KB SDP): the load generator shares the machine with the server, so it stays cheap.
 * Frames are `{"type":"…",…}`; every call event and the invite's ok name `"callId":"…"`.
 */
interface Frame {
  type: string;
  text: string;
}
const TYPE_AT = '{"type":"'.length;
const frameOf = (text: string): Frame => ({
  type: text.startsWith('{"type":"') ? text.slice(TYPE_AT, text.indexOf('"', TYPE_AT)) : '',
  text,
});
function callIdOf(f: Frame): string {
  const at = f.text.indexOf('"callId":"');
  return at < 0 ? '' : f.text.slice(at + 10, f.text.indexOf('"', at + 10));
}

/**
 * One caller/callee pair of sockets that runs complete calls one after another:
 * invite → incoming → accept → accepted → offer + ICE → answer + ICE → hangup → ended → record.
 */
class CallPair {
  private callId = '';
  private t0 = 0;
  private answered = false;
  private callerIce = 0;
  private calleeIce = 0;
  private hungUp = false;
  private callerRecord = false;
  private calleeRecord = false;
  private seq = 0;
  private done: (setupMs: number) => void = () => {};
  private fail: (err: Error) => void = () => {};
  private setupMs = 0;

  constructor(
    readonly caller: BenchSocket,
    readonly callee: BenchSocket,
    private readonly calleeId: string,
  ) {
    caller.onFrame = (t) => this.onCaller(frameOf(t.toString()));
    callee.onFrame = (t) => this.onCallee(frameOf(t.toString()));
  }

  start(done: (setupMs: number) => void, fail: (err: Error) => void): void {
    this.done = done;
    this.fail = fail;
    this.callId = '';
    this.answered = this.hungUp = this.callerRecord = this.calleeRecord = false;
    this.callerIce = this.calleeIce = 0;
    this.t0 = performance.now();
    this.caller.send(
      `{"type":"call:invite","requestId":"${++this.seq}","data":{"callee":"${this.calleeId}","media":"video"}}`,
    );
  }

  private onCaller(f: Frame): void {
    switch (f.type) {
      case 'ok':
      case 'call:ringing':
        this.callId ||= callIdOf(f);
        return;
      case 'call:accepted':
        this.callId ||= callIdOf(f);
        this.caller.sendAll([
          frame('call:offer', this.callId, `,"sdp":${SDP_OFFER}`),
          ...ICE_CALLER.map((c) => frame('call:ice', this.callId, `,"candidate":${c}`)),
        ]);
        return;
      case 'call:answer':
        this.setupMs = performance.now() - this.t0;
        this.answered = true;
        return this.maybeHangup();
      case 'call:ice':
        this.callerIce++;
        return this.maybeHangup();
      case 'call:record':
        this.callerRecord = true;
        return this.maybeDone();
      default:
        return this.unexpected('caller', f);
    }
  }

  private onCallee(f: Frame): void {
    switch (f.type) {
      case 'call:incoming':
        this.callId ||= callIdOf(f);
        this.callee.send(frame('call:accept', this.callId));
        return;
      case 'call:offer':
        this.callee.sendAll([
          frame('call:answer', this.callId, `,"sdp":${SDP_ANSWER}`),
          ...ICE_CALLEE.map((c) => frame('call:ice', this.callId, `,"candidate":${c}`)),
        ]);
        return;
      case 'call:ice':
        this.calleeIce++;
        return this.maybeHangup();
      case 'call:ended':
        return;
      case 'call:record':
        this.calleeRecord = true;
        return this.maybeDone();
      default:
        return this.unexpected('callee', f);
    }
  }

  private maybeHangup(): void {
    if (
      this.answered &&
      !this.hungUp &&
      this.callerIce === ICE_PER_SIDE &&
      this.calleeIce === ICE_PER_SIDE
    ) {
      this.hungUp = true;
      this.caller.send(frame('call:hangup', this.callId));
    }
  }

  private maybeDone(): void {
    if (this.callerRecord && this.calleeRecord) this.done(this.setupMs);
  }

  private unexpected(who: string, f: Frame): void {
    this.fail(new Error(`${who} got unexpected ${f.text.slice(0, 300)}`));
  }
}

/**
 * Runs `calls` slots at once; slot i makes `rounds` calls one after another, call k with pair
 * (k mod groups) of the slot, so no pair is in two calls at once and none makes more than
 * ⌈rounds / groups⌉ calls. No slot waits for another: the server sees `calls` concurrent calls
 * throughout, without a lull at round boundaries.
 */
function slots(
  pairs: readonly CallPair[],
  calls: number,
  rounds: number,
  groups: number,
  setups: Float64Array,
  timeoutMs: number,
) {
  return new Promise<void>((resolve, reject) => {
    let done = 0;
    const total = calls * rounds;
    const timer = setTimeout(
      () =>
        reject(new Error(`${total - done} of ${total} calls did not complete in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const run = (slot: number, k: number) => {
      pairs[(k % groups) * calls + slot]!.start((setupMs) => {
        setups[done++] = setupMs;
        if (k + 1 < rounds) run(slot, k + 1);
        else if (done === total) {
          clearTimeout(timer);
          resolve();
        }
      }, fail);
    };
    for (let slot = 0; slot < calls; slot++) run(slot, 0);
  });
}

/**
 * Phase 1: `calls` concurrent complete calls, `rounds` per slot. Users are grouped so that each
 * takes part in at most `callsPerUser` calls (within its rate-limit burst).
 */
export async function runCalls(o: CallsOptions): Promise<CallsResult> {
  const s0 = performance.now();
  const groups = Math.ceil(o.rounds / o.callsPerUser);
  const n = groups * o.calls;
  const ids = Array.from(
    { length: n },
    (_, i) => [`${o.tag}-c${i}-a`, `${o.tag}-c${i}-b`] as const,
  );
  const urls: string[] = [];
  for (const [a, b] of ids) {
    urls.push(`${o.wsBase}/ws?token=${await o.mint(a)}&clientType=bench`);
    urls.push(`${o.wsBase}/ws?token=${await o.mint(b)}&clientType=bench`);
  }
  const sockets = await openAll(urls);
  try {
    const pairs = ids.map(([, b], i) => new CallPair(sockets[2 * i]!, sockets[2 * i + 1]!, b));
    const setups = new Float64Array(o.calls * o.rounds);
    resetTallies(sockets);
    const cpu0 = cpuMicros(o.pid);
    const own0 = process.cpuUsage();
    const all0 = machineMicros();
    const irq0 = softirqMicros();
    const t0 = performance.now();
    const setupMs = t0 - s0;
    await slots(pairs, o.calls, o.rounds, groups, setups, o.timeoutMs ?? 120_000);
    const elapsedMs = performance.now() - t0;
    const own = process.cpuUsage(own0);
    const all1 = machineMicros();
    const irq1 = softirqMicros();
    const cpu1 = cpuMicros(o.pid);
    return {
      calls: o.calls * o.rounds,
      users: 2 * n,
      setupMs,
      elapsedMs,
      frames: sumTallies(sockets),
      setup: latency(setups),
      ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUs: cpu1 - cpu0 } : {}),
      clientCpuUs: own.user + own.system,
      ...(all0 !== undefined && all1 !== undefined ? { machineCpuUs: all1 - all0 } : {}),
      ...(irq0 !== undefined && irq1 !== undefined ? { softirqCpuUs: irq1 - irq0 } : {}),
    };
  } finally {
    for (const s of sockets) s.close();
  }
}
