import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, PlainTransport, Router, RtpParameters } from '@parley/server';
import type { SinkReply, SinkRequest, SinkTransport } from './sink-child.ts';
import { TWCC_URI } from './twcc.ts';
import { SUITE_KEYS, type SrtcpSuite } from './srtcp.ts';

/**
 * What the fan-out benchmarks share: a recorded stream, its real-time replay into a router, and
 * consumers of it that send SRTP to a local UDP sink.
 */

/** RTP packets of one stream with their arrival times, and what it takes to produce it again. */
export interface Recording {
  packets: Array<{ at: number; data: Buffer }>;
  rtpParameters: RtpParameters;
  kbps: number;
  pps: number;
  /** The longest stretch of the replay loop without a key frame (ms). */
  keyFrameGapMs: number;
}

/** How often the recording asks for a key frame. */
const KEY_FRAME_EVERY_MS = 1000;

/** Whether an RTP packet starts a VP8 key frame (RFC 7741 payload descriptor and header). */
export function isVp8KeyFrameStart(rtp: Buffer): boolean {
  let at = 12 + (rtp[0]! & 0x0f) * 4;
  if (rtp[0]! & 0x10) at += 4 + rtp.readUInt16BE(at + 2) * 4;
  const first = rtp[at]!;
  if (!(first & 0x10) || (first & 0x07) !== 0) return false; // not the start of partition 0
  at++;
  if (first & 0x80) {
    const ext = rtp[at++]!;
    if (ext & 0x80) at += rtp[at]! & 0x80 ? 2 : 1; // picture id
    if (ext & 0x40) at++; // TL0PICIDX
    if (ext & 0x30) at++; // TID / KEYIDX
  }
  return at < rtp.length && (rtp[at]! & 0x01) === 0;
}

/**
 * Records the top layer of a producer through a DirectTransport consumer, asking for a key frame
 * every second so that the replay has them often (a new consumer forwards nothing until its
 * first key frame; the encoder decides how many requests it honours).
 */
export async function record(
  router: Router,
  producerId: string,
  seconds: number,
): Promise<Recording> {
  const direct = await router.createDirectTransport();
  const consumer = await direct.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
  const packets: Recording['packets'] = [];
  await delay(2000); // the top layer is flowing
  consumer.on('rtp', (data) => packets.push({ at: performance.now(), data: Buffer.from(data) }));
  for (let ms = 0; ms < seconds * 1000; ms += KEY_FRAME_EVERY_MS) {
    await consumer.requestKeyFrame();
    await delay(KEY_FRAME_EVERY_MS);
  }
  direct.close();
  const rtp = consumer.rtpParameters;
  const bytes = packets.reduce((s, p) => s + p.data.length, 0);
  const keys = packets.filter((p) => isVp8KeyFrameStart(p.data)).map((p) => p.at);
  const loopMs = seconds * 1000;
  const gaps = keys.map((at, i) =>
    i === 0 ? at - packets[0]!.at + loopMs - (keys.at(-1)! - packets[0]!.at) : at - keys[i - 1]!,
  );
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
    keyFrameGapMs: keys.length === 0 ? Infinity : Math.max(...gaps),
  };
}

/** Sends a recording into a PlainTransport producer in a loop, in real time. */
export async function replay(router: Router, rec: Recording) {
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

/**
 * Where the fan-out's consumers send: a UDP port on loopback. Two kinds (`bench-sfu --sink`):
 * `drop` never reads (UdpSink), `answer` reads and answers as a browser does (FeedbackSink).
 */
export interface Sink {
  readonly port: number;
  /** Packets that reached the sink so far. */
  arrived(): Promise<number>;
  /** Answers a consumer's transport, if this sink answers. */
  answer(t: SinkTransport): void;
  close(): void;
}

export type SinkKind = 'drop' | 'answer';

export function openSink(kind: SinkKind): Promise<Sink> {
  return kind === 'answer' ? FeedbackSink.open() : UdpSink.open();
}

/**
 * A UDP port on loopback that takes the consumers' packets and never reads them: a child
 * process binds it with a small receive buffer, so the kernel queues a few and drops the rest
 * at the socket. A sink that reads (a Node socket) would spend a core of this 2-core machine on
 * receiving and would wake on every packet, which loopback charges partly to the sending worker;
 * a real deployment hands its packets to a NIC instead. Its buffer fills within milliseconds;
 * from then on every packet that reaches it is counted in its drops (/proc/net/udp). What it
 * costs in realism: it never answers, so mediasoup's congestion controller keeps each
 * consumer's packets in its send history for 60 s (FeedbackSink answers instead).
 */
export class UdpSink implements Sink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async open(): Promise<UdpSink> {
    const child = spawn(
      'python3',
      [
        '-c',
        [
          'import socket, sys',
          's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
          's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)',
          "s.bind(('127.0.0.1', 0))",
          'print(s.getsockname()[1], flush=True)',
          'sys.stdin.read()',
        ].join('\n'),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the UDP sink exited (${code})`)));
      createInterface({ input: child.stdout }).once('line', resolve);
    });
    return new UdpSink(child, Number(line));
  }

  /** Packets the full socket dropped so far: once it is full, every packet that reached it. */
  arrived(): Promise<number> {
    return Promise.resolve(this.dropped());
  }

  /** Nothing: this sink never answers. */
  answer(): void {}

  private dropped(): number {
    const hexPort = `:${this.port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const l of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = l.trim().split(/\s+/);
      if (f[1]?.endsWith(hexPort) && f[1].startsWith('0100007F')) {
        return Number(f.at(-1));
      }
    }
    return NaN;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}

/**
 * A receiver that answers as a browser does: a child process (sink-child.ts) with one UDP port
 * on loopback that reads every packet and sends each consumer's transport transport-cc feedback
 * every 50 ms. Without feedback, mediasoup's congestion controller keeps each consumer's packets
 * in its send history for 60 s (a tree of ~2,800 entries per consumer at this stream's rate);
 * with it, the worker pays for the feedback instead, as with browsers. The price on loopback:
 * reading takes the child about a third of a core at 800 consumers, and each packet that finds
 * it asleep wakes it, in the sending worker's system time (see the README).
 */
export class FeedbackSink implements Sink {
  private readonly pending = new Map<number, (arrived: number) => void>();
  private asked = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (m: SinkReply) => {
      if ('arrived' in m) {
        this.pending.get(m.count)?.(m.arrived);
        this.pending.delete(m.count);
      }
    });
  }

  static async open(): Promise<FeedbackSink> {
    const entry = fileURLToPath(new URL('./sink-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the UDP sink exited (${code})`)));
      child.once('message', (m: SinkReply) => resolve('port' in m ? m.port : NaN));
    });
    return new FeedbackSink(child, port);
  }

  /** Answers `t`'s packets with feedback sent under its key. */
  answer(t: SinkTransport): void {
    this.child.send({ add: t } satisfies SinkRequest);
  }

  /** Packets that reached the sink so far. */
  arrived(): Promise<number> {
    const count = ++this.asked;
    return new Promise((resolve) => {
      this.pending.set(count, resolve);
      this.child.send({ count } satisfies SinkRequest);
    });
  }

  close(): void {
    this.child.kill();
  }
}

/**
 * The SRTP crypto suite Chromium and mediasoup agree on over DTLS (mediasoup's first choice,
 * which Chromium offers; read from the page's transport stats, `srtpCipher`): what a meeting's
 * consumers encrypt with, and so the fan-out's by default (`bench-sfu --srtp`).
 */
export const BROWSER_SRTP: SrtcpSuite = 'AEAD_AES_256_GCM';

/**
 * Consumers of one producer, each on its own PlainTransport sending SRTP (in `suite`) to a
 * sink.
 */
export class SinkConsumers {
  readonly transports: PlainTransport[] = [];
  readonly consumers: Consumer[] = [];

  constructor(
    private readonly router: Router,
    private readonly producerId: string,
    private readonly sink: Sink,
    private readonly suite: SrtcpSuite = BROWSER_SRTP,
  ) {}

  get count(): number {
    return this.consumers.length;
  }

  /**
   * Adds consumers until there are `n`, a few requests in flight at a time, then waits (up to
   * `withinMs`) until a sample of the new ones forwards: each from its first key frame on.
   */
  async grow(n: number, withinMs: number): Promise<void> {
    const before = this.consumers.length;
    while (this.consumers.length < n) {
      const batch = Math.min(20, n - this.consumers.length);
      await Promise.all(Array.from({ length: batch }, () => this.add()));
    }
    const added = this.consumers.slice(before);
    const every = Math.ceil(added.length / 20);
    const sample = added.filter((_, i) => i % every === 0);
    const deadline = performance.now() + withinMs;
    while (sample.length > 0 && performance.now() < deadline) {
      const sent = await Promise.all(sample.map((c) => c.getStats()));
      if (sent.every((s) => (s.find((x) => x.type === 'outbound-rtp')?.packetCount ?? 0) > 0)) {
        return;
      }
      await delay(250);
    }
  }

  /**
   * Packets sent so far by a sample of the consumers, on average (the worker's view: the sink
   * drops most of them).
   */
  async sentPerConsumer(): Promise<number> {
    const every = Math.ceil(this.consumers.length / 20);
    const sample = this.consumers.filter((_, i) => i % every === 0);
    const stats = await Promise.all(sample.map((c) => c.getStats()));
    const sent = stats.map((s) => s.find((x) => x.type === 'outbound-rtp')?.packetCount ?? 0);
    return sent.reduce((a, b) => a + b, 0) / Math.max(1, sample.length);
  }

  close(): void {
    for (const t of this.transports) t.close();
    this.transports.length = 0;
    this.consumers.length = 0;
  }

  private async add(): Promise<void> {
    const { suite } = this;
    const t = await this.router.createPlainTransport({
      listenIp: '127.0.0.1',
      rtcpMux: true,
      comedia: false,
      enableSrtp: true,
      srtpCryptoSuite: suite,
    });
    this.transports.push(t);
    const { key, salt } = SUITE_KEYS[suite];
    const keyBase64 = randomBytes(key + salt).toString('base64');
    await t.connect({
      ip: '127.0.0.1',
      port: this.sink.port,
      srtpParameters: { cryptoSuite: suite, keyBase64 },
    });
    const consumer = await t.consume({
      producerId: this.producerId,
      rtpCapabilities: this.router.rtpCapabilities,
    });
    this.consumers.push(consumer);
    const { headerExtensions = [], encodings = [] } = consumer.rtpParameters;
    const extensionId = headerExtensions.find((h) => h.uri === TWCC_URI)?.id;
    if (extensionId === undefined) throw new Error('the consumer has no transport-cc extension');
    this.sink.answer({
      port: t.tuple.localPort,
      suite,
      keyBase64,
      extensionId,
      mediaSsrc: encodings[0]!.ssrc!,
    });
  }
}
