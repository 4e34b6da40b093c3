import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ANSWER_SDP, OFFER_SDP } from '@parley/bench/payloads';
import { Peer, type Frame } from './peer.ts';

/** How the driver reaches the servers and who its users are. */
export interface CallLoadOptions {
  /** Caller/callee pairs, each calling in a loop. */
  pairs: number;
  /** `ws://host:port` of the node the caller (or callee) of pair `i` connects to. */
  base: (role: 'caller' | 'callee', i: number) => string;
  /** A token for `userId`. */
  token: (userId: string) => Promise<string>;
  /** Prefix of the user ids, so that runs on one store do not mix. */
  prefix: string;
  /** ICE candidates per second the caller sends while its call is live. */
  iceHz: number;
  /** How long a call lasts, ms (uniform in [min, max]); Infinity: until `stop()`. */
  callMs: readonly [number, number];
}

/** One ICE frame's relay latency and when it was sent (ms on the driver's monotonic clock). */
interface Sample {
  sentAt: number;
  ms: number;
}

/** A call the server acknowledged (it answered the invite with a callId): a promised record. */
export interface PromisedCall {
  callId: string;
  caller: string;
  /** When the invite was answered, and when the hangup was (if it was). */
  promisedAt: number;
  endedAt?: number;
  /** When the caller got its `call:record`. */
  recordSeenAt?: number;
}

/**
 * Call churn against one or more Parley nodes: pairs that call, relay ICE and hang up in a
 * loop, reconnecting whenever their sockets drop (a killed or restarted server). Every call the
 * server acknowledged is remembered, so that its record can be checked afterwards, and every
 * relayed ICE frame's latency is sampled.
 */
export class CallLoad {
  readonly promised = new Map<string, PromisedCall>();
  private readonly samples: Sample[] = [];
  private readonly live = new Set<number>();
  private readonly loops: Array<Promise<void>> = [];
  private readonly peers = new Set<Peer>();
  private running = false;
  private frozen = false;
  /** Calls that reached `call:accepted`, with the time they did. */
  readonly accepted: number[] = [];

  constructor(private readonly o: CallLoadOptions) {}

  /** Pairs with an acknowledged call that has not ended yet. */
  get inProgress(): number {
    return this.live.size;
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.o.pairs; i++) this.loops.push(this.pair(i));
  }

  /** Stops calling and hangs up what is live; resolves when every pair has stopped. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /**
   * Stops every pair where it stands, without hanging up or reconnecting (the server is about
   * to be stopped under them).
   */
  async freeze(): Promise<void> {
    this.frozen = true;
    this.running = false;
    for (const p of this.peers) p.close();
    await Promise.all(this.loops);
  }

  /** Relay latency percentiles (ms) of the ICE frames sent in [from, to). */
  latency(from = 0, to = Infinity): { n: number; p50: number; p99: number } {
    const ms = this.samples
      .filter((s) => s.sentAt >= from && s.sentAt < to)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    const at = (q: number) =>
      ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]! : NaN;
    return { n: ms.length, p50: at(0.5), p99: at(0.99) };
  }

  /** Resolves once `n` calls are live at the same time (or rejects after `timeoutMs`). */
  async untilLive(n: number, timeoutMs = 120_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.live.size < n) {
      if (performance.now() > end) throw new Error(`only ${this.live.size} of ${n} calls live`);
      await sleep(50);
    }
  }

  private async pair(i: number): Promise<void> {
    const caller = `${this.o.prefix}-a${i}`;
    const callee = `${this.o.prefix}-b${i}`;
    while (this.running) {
      let a: Peer | undefined;
      let b: Peer | undefined;
      try {
        [a, b] = await Promise.all([
          this.connect(this.o.base('caller', i), caller),
          this.connect(this.o.base('callee', i), callee),
        ]);
        while (this.running && a.open && b.open) await this.call(i, a, b, caller, callee);
      } catch {
        // The server went away (or refused us while it starts): try again shortly.
        if (this.running) await sleep(200 + Math.random() * 300);
      } finally {
        this.live.delete(i);
        if (!this.frozen) {
          a?.close();
          b?.close();
        }
        if (a) this.peers.delete(a);
        if (b) this.peers.delete(b);
      }
    }
  }

  private async connect(base: string, userId: string): Promise<Peer> {
    const p = await Peer.open(`${base}/ws?token=${await this.o.token(userId)}&clientType=web`);
    this.peers.add(p);
    return p;
  }

  private async call(i: number, a: Peer, b: Peer, caller: string, callee: string): Promise<void> {
    const incoming = quietly(b.next((f) => f.type === 'call:incoming'));
    const { callId } = (await a.request('call:invite', { callee, media: 'audio' })) as {
      callId: string;
    };
    const call: PromisedCall = { callId, caller, promisedAt: performance.now() };
    this.promised.set(callId, call);
    this.live.add(i);
    const of = (type: string) => (f: Frame) => f.type === type && f.data?.callId === callId;
    await incoming;
    const accepted = quietly(a.next(of('call:accepted')));
    await b.request('call:accept', { callId });
    await accepted;
    this.accepted.push(performance.now());
    // ICE is held until the first offer; an offer/answer round makes the call a live one.
    const offered = quietly(b.next(of('call:offer')));
    const answered = quietly(a.next(of('call:answer')));
    a.send({ type: 'call:offer', data: { callId, sdp: OFFER_SDP } });
    await offered;
    b.send({ type: 'call:answer', data: { callId, sdp: ANSWER_SDP } });
    await answered;
    b.onIce = (f) => {
      const sentAt =
        Number(/^candidate:(\d+)/.exec(f.data?.candidate?.candidate ?? '')?.[1]) / 1000;
      if (sentAt > 0) this.samples.push({ sentAt, ms: performance.now() - sentAt });
    };
    const [min, max] = this.o.callMs;
    const until = performance.now() + (max > min ? min + Math.random() * (max - min) : min);
    const gap = 1000 / this.o.iceHz;
    while (this.running && performance.now() < until) {
      const at = Math.round(performance.now() * 1000);
      a.send({
        type: 'call:ice',
        data: {
          callId,
          candidate: {
            candidate: `candidate:${at} 1 udp 2122260223 192.168.1.20 54321 typ host generation 0`,
            sdpMid: '0',
            sdpMLineIndex: 0,
          },
        },
      });
      await sleep(gap);
      if (!a.open || !b.open) throw new Error('socket lost mid-call');
    }
    if (this.frozen) return;
    // The record event may wait for a store that is down; the next call need not.
    void a.next(of('call:record'), 120_000).then(
      () => (call.recordSeenAt = performance.now()),
      () => undefined,
    );
    await a.request('call:hangup', { callId });
    call.endedAt = performance.now();
    this.live.delete(i);
  }
}

/** `p`, with its rejection marked handled (it is awaited later, or not at all if we bail). */
function quietly<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
