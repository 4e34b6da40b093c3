import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ICE_PER_SIDE } from './calls.ts';
import { cpuMicros, machineMicros, softirqMicros } from './children.ts';
import {
  ANSWER_SDP,
  OFFER_SDP,
  Template,
  ageMs,
  candidate,
  srflxCandidate,
  stamp,
} from './payloads.ts';
import { resetTallies, sumTallies, type BenchClient, type Tally } from './sockets.ts';
import { openClients, type ClientKind } from './ws-client.ts';
import { latency, type Latency } from './stats.ts';

/** Relayed messages per exchange: offer, answer and the ICE trickle of both sides. */
export const MESSAGES_PER_EXCHANGE = 2 + 2 * ICE_PER_SIDE;

/** Two connected peers and the frames each sends, in one server's wire protocol. */
export interface RelayPair {
  /** Parley's call id (PeerJS has no calls). */
  callId?: string;
  a: BenchClient;
  b: BenchClient;
  offer: Template;
  answer: Template;
  iceA: Template[];
  iceB: Template[];
  /** One server-reflexive candidate each way (~300 bytes): the open-loop regime's message. */
  trickleA: Template;
  trickleB: Template;
}

/** How a relayed frame of each kind begins on the receiving side. */
interface Kinds {
  offer: string;
  answer: string;
  ice: string;
}

/** Whether `frame` begins with `prefix` (compared as bytes). */
const startsWith = (frame: Buffer, prefix: Buffer) =>
  frame.length >= prefix.length && prefix.compare(frame, 0, prefix.length) === 0;

/** A server to relay through: how to open pairs and how to end them. */
export interface RelayTarget {
  readonly name: string;
  readonly pid?: number;
  readonly kinds: Kinds;
  /**
   * What the server's own client sends to stay connected, if the client keeps the connection
   * alive rather than the server (PeerJS's client sends a HEARTBEAT every 5 s, `pingInterval`;
   * Parley's server pings and the client's pong is the keepalive). The open-loop phase sends it
   * as that client would, so each server carries its protocol's real keepalive load.
   */
  readonly keepalive?: { everyMs: number; frame: string };
  /** Opens `n` pairs with clients of `client` (default: the lean one). */
  open(n: number, tag: string, client?: ClientKind): Promise<RelayPair[]>;
  close(pairs: readonly RelayPair[]): Promise<void>;
}

export interface RelayResult {
  pairs: number;
  exchanges: number;
  /** Relayed messages (each is one frame in and one frame out of the server). */
  messages: number;
  elapsedMs: number;
  /** performance.now() when the last message arrived. */
  endedAt: number;
  /** Messages/s between the 10th and the 90th percentile of arrivals (ramp-up/down excluded). */
  steadyRate: number;
  /** Messages/s over the whole run. */
  overallRate: number;
  latency: Latency;
  /** Every message's latency, ms, sorted. */
  samples: Float64Array;
  frames: Tally;
  /** Server CPU time during the run, µs. */
  cpuUs?: number;
  /** CPU time of all cores during the run (whole machine), µs. */
  machineCpuUs?: number;
  /** CPU time of the kernel's softirq threads during the run, µs. */
  softirqCpuUs?: number;
  /** This process's (the load generator's) CPU time during the run, µs. */
  clientCpuUs: number;
}

/**
 * Drives every pair through `exchanges` renegotiations at once, as fast as the server relays:
 * A sends an offer; B answers and trickles 4 candidates; A trickles 4 on the answer; the next
 * exchange starts once both sides have all 4. Each received frame's stamp gives its latency.
 */
function drive(
  pairs: readonly RelayPair[],
  kinds: Kinds,
  exchanges: number,
  timeoutMs: number,
): Promise<{ lat: Float64Array; at: Float64Array; t0: number; t1: number }> {
  const total = pairs.length * exchanges * MESSAGES_PER_EXCHANGE;
  const lat = new Float64Array(total);
  const at = new Float64Array(total);
  let n = 0;
  const isOffer = Buffer.from(kinds.offer);
  const isAnswer = Buffer.from(kinds.answer);
  const isIce = Buffer.from(kinds.ice);
  return new Promise((resolve, reject) => {
    let left = pairs.length;
    const timer = setTimeout(
      () =>
        reject(new Error(`relay: ${total - n} of ${total} messages missing after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const t0 = performance.now();
    const unexpected = (frame: Buffer) => {
      clearTimeout(timer);
      reject(new Error(`relay: unexpected frame ${frame.toString('utf8', 0, 300)}`));
    };
    for (const p of pairs) {
      let e = 0;
      let aIce = 0;
      let bIce = 0;
      const step = () => {
        if (aIce < ICE_PER_SIDE || bIce < ICE_PER_SIDE) return;
        aIce = bIce = 0;
        if (++e < exchanges) p.a.send(p.offer.make());
        else if (--left === 0) {
          clearTimeout(timer);
          resolve({ lat, at, t0, t1: performance.now() });
        }
      };
      p.a.onFrame = (frame) => {
        const now = performance.now();
        if (startsWith(frame, isIce)) {
          lat[n] = ageMs(frame, now);
          at[n++] = now;
          aIce++;
          step();
        } else if (startsWith(frame, isAnswer)) {
          lat[n] = ageMs(frame, now);
          at[n++] = now;
          const ts = stamp();
          p.a.sendAll(p.iceA.map((t) => t.make(ts)));
        } else unexpected(frame);
      };
      p.b.onFrame = (frame) => {
        const now = performance.now();
        if (startsWith(frame, isIce)) {
          lat[n] = ageMs(frame, now);
          at[n++] = now;
          bIce++;
          step();
        } else if (startsWith(frame, isOffer)) {
          lat[n] = ageMs(frame, now);
          at[n++] = now;
          const ts = stamp();
          p.b.sendAll([p.answer.make(ts), ...p.iceB.map((t) => t.make(ts))]);
        } else unexpected(frame);
      };
    }
    for (const p of pairs) p.a.send(p.offer.make());
  });
}

/** One trial: drives already open `pairs` through `exchanges` exchanges and measures. */
export async function runRelay(
  target: RelayTarget,
  pairs: readonly RelayPair[],
  exchanges: number,
  timeoutMs = 120_000,
): Promise<RelayResult> {
  const sockets = pairs.flatMap((p) => [p.a, p.b]);
  resetTallies(sockets);
  const cpu0 = cpuMicros(target.pid);
  const own0 = process.cpuUsage();
  const all0 = machineMicros();
  const irq0 = softirqMicros();
  const r = await drive(pairs, target.kinds, exchanges, timeoutMs);
  const own = process.cpuUsage(own0);
  const all1 = machineMicros();
  const irq1 = softirqMicros();
  const cpu1 = cpuMicros(target.pid);
  const messages = r.at.length;
  const i10 = Math.floor(messages * 0.1);
  const i90 = Math.floor(messages * 0.9);
  return {
    pairs: pairs.length,
    exchanges,
    messages,
    elapsedMs: r.t1 - r.t0,
    endedAt: r.t1,
    steadyRate: ((i90 - i10) / (r.at[i90]! - r.at[i10]!)) * 1000,
    overallRate: (messages / (r.t1 - r.t0)) * 1000,
    latency: latency(r.lat),
    samples: r.lat,
    frames: sumTallies(sockets),
    ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUs: cpu1 - cpu0 } : {}),
    clientCpuUs: own.user + own.system,
    ...(all0 !== undefined && all1 !== undefined ? { machineCpuUs: all1 - all0 } : {}),
    ...(irq0 !== undefined && irq1 !== undefined ? { softirqCpuUs: irq1 - irq0 } : {}),
  };
}

const RECORD = Buffer.from('{"type":"call:record"');

const ice = (from: number) => Array.from({ length: ICE_PER_SIDE }, (_, i) => candidate(from + i));

/** Waits until every `pending` resolves or `timeoutMs` passes. */
function within<T>(pending: Array<Promise<T>>, timeoutMs: number, what: string): Promise<T[]> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    Promise.all(pending),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not finish in ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

interface NativeFrame {
  type: string;
  data?: { callId?: string };
  error?: { code: string; message: string };
}

/**
 * Parley, native dialect: each pair is a caller and a callee in an accepted call (invite and
 * accept happen before the measurement; the hangup after it). Callees connect to
 * `calleeWsBase` when given (another node of a cluster).
 */
export function parleyTarget(
  wsBase: string,
  mint: (userId: string) => Promise<string>,
  pid?: number,
  calleeWsBase = wsBase,
  name = 'Parley',
): RelayTarget {
  return {
    name,
    ...(pid !== undefined ? { pid } : {}),
    kinds: {
      offer: '{"type":"call:offer"',
      answer: '{"type":"call:answer"',
      ice: '{"type":"call:ice"',
    },
    async open(n, tag, client = 'lean') {
      const urls: string[] = [];
      for (let i = 0; i < n; i++) {
        for (const side of ['a', 'b']) {
          const base = side === 'a' ? wsBase : calleeWsBase;
          urls.push(`${base}/ws?token=${await mint(`${tag}-${i}-${side}`)}&clientType=bench`);
        }
      }
      const sockets = await openClients(client, urls);
      const calls = Array.from({ length: n }, (_, i) => {
        const a = sockets[2 * i]!;
        const b = sockets[2 * i + 1]!;
        return new Promise<RelayPair>((resolve, reject) => {
          const fail = (who: string, f: NativeFrame) =>
            reject(new Error(`${who} got ${f.type} ${f.error?.code ?? ''} while setting up`));
          b.onFrame = (t) => {
            const f = JSON.parse(t.toString()) as NativeFrame;
            if (f.type === 'call:incoming')
              b.send(`{"type":"call:accept","data":{"callId":"${f.data?.callId}"}}`);
            else fail('callee', f);
          };
          a.onFrame = (t) => {
            const f = JSON.parse(t.toString()) as NativeFrame;
            if (f.type === 'call:ringing' || f.type === 'ok') return;
            if (f.type !== 'call:accepted') return fail('caller', f);
            const callId = f.data!.callId!;
            resolve({
              callId,
              a,
              b,
              offer: new Template({ type: 'call:offer', data: { callId, sdp: OFFER_SDP } }),
              answer: new Template({ type: 'call:answer', data: { callId, sdp: ANSWER_SDP } }),
              iceA: ice(0).map(
                (c) => new Template({ type: 'call:ice', data: { callId, candidate: c } }),
              ),
              iceB: ice(ICE_PER_SIDE).map(
                (c) => new Template({ type: 'call:ice', data: { callId, candidate: c } }),
              ),
              trickleA: new Template({
                type: 'call:ice',
                data: { callId, candidate: srflxCandidate(0) },
              }),
              trickleB: new Template({
                type: 'call:ice',
                data: { callId, candidate: srflxCandidate(1) },
              }),
            });
          };
          a.send(
            `{"type":"call:invite","requestId":"1","data":{"callee":"${tag}-${i}-b","media":"video"}}`,
          );
        });
      });
      try {
        return await within(calls, 30_000, 'relay call setup');
      } catch (err) {
        for (const s of sockets) s.close();
        throw err;
      }
    },
    async close(pairs) {
      // Hang up and wait for the records, so that no call is left for the server's shutdown.
      const ended = pairs.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.a.onFrame = (t) => {
              if (startsWith(t, RECORD)) resolve();
            };
            p.b.onFrame = () => {};
            p.a.send(`{"type":"call:hangup","data":{"callId":"${p.callId}"}}`);
          }),
      );
      await within(ended, 30_000, 'relay hangups').catch(() => {});
      for (const p of pairs) {
        p.a.close();
        p.b.close();
      }
    },
  };
}

/**
 * PeerJS: each pair is two peers; frames are what the PeerJS client sends
 * (`{type, dst, payload: {sdp | candidate, type: "media", connectionId}}`) and the server
 * relays as `{type, src, dst, payload}`.
 */
export function peerJsTarget(wsBase: string, pid?: number): RelayTarget {
  return {
    name: 'PeerJS',
    ...(pid !== undefined ? { pid } : {}),
    kinds: { offer: '{"type":"OFFER"', answer: '{"type":"ANSWER"', ice: '{"type":"CANDIDATE"' },
    // The PeerJS client's default (lib/socket.ts: pingInterval = 5000).
    keepalive: { everyMs: 5000, frame: '{"type":"HEARTBEAT"}' },
    async open(n, tag, client = 'lean') {
      const url = (id: string) =>
        `${wsBase}/peerjs?key=peerjs&id=${id}&token=${randomBytes(6).toString('hex')}`;
      const urls: string[] = [];
      for (let i = 0; i < n; i++) urls.push(url(`${tag}-${i}-a`), url(`${tag}-${i}-b`));
      const sockets = await openClients(client, urls, '{"type":"OPEN"');
      return Array.from({ length: n }, (_, i) => {
        const A = `${tag}-${i}-a`;
        const B = `${tag}-${i}-b`;
        const connectionId = `mc_${randomBytes(8).toString('hex')}`;
        const cand = (dst: string) => (c: ReturnType<typeof candidate>) =>
          new Template({
            type: 'CANDIDATE',
            dst,
            payload: { candidate: c, type: 'media', connectionId },
          });
        return {
          a: sockets[2 * i]!,
          b: sockets[2 * i + 1]!,
          offer: new Template({
            type: 'OFFER',
            dst: B,
            payload: { sdp: { type: 'offer', sdp: OFFER_SDP }, type: 'media', connectionId },
          }),
          answer: new Template({
            type: 'ANSWER',
            dst: A,
            payload: { sdp: { type: 'answer', sdp: ANSWER_SDP }, type: 'media', connectionId },
          }),
          iceA: ice(0).map(cand(B)),
          iceB: ice(ICE_PER_SIDE).map(cand(A)),
          trickleA: cand(B)(srflxCandidate(0)),
          trickleB: cand(A)(srflxCandidate(1)),
        };
      });
    },
    close(pairs) {
      for (const p of pairs) {
        p.a.close();
        p.b.close();
      }
      return Promise.resolve();
    },
  };
}
