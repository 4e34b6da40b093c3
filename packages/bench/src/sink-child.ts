import { createSocket } from 'node:dgram';
import { SrtcpSender, type SrtcpSuite } from './srtcp.ts';
import { TwccReceiver, twccSequence } from './twcc.ts';

/**
 * The fan-out benchmarks' receiver, in a process of its own (see FeedbackSink): one UDP port on
 * loopback that every consumer's transport sends to, answering each transport as a browser
 * does, with transport-cc feedback (SRTCP) every 50 ms. The parent registers each transport
 * (its port, the key to send with, the extension id, the media SSRC) over IPC and asks for the
 * count of packets that arrived.
 */

/** libwebrtc's receiver sends feedback every 50–250 ms, 5% of the rate it gets: 50 ms here. */
const FEEDBACK_EVERY_MS = 50;

export interface SinkTransport {
  port: number;
  suite: SrtcpSuite;
  keyBase64: string;
  extensionId: number;
  mediaSsrc: number;
}

export type SinkRequest = { add: SinkTransport } | { count: number };
export type SinkReply = { port: number } | { count: number; arrived: number };

interface Registered {
  port: number;
  extensionId: number;
  srtcp: SrtcpSender;
  twcc: TwccReceiver;
}

const byPort = new Map<number, Registered>();
let arrived = 0;
let nextSsrc = 0x5ec00000;

const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
socket.on('message', (msg, from) => {
  arrived++;
  const t = byPort.get(from.port);
  const seq = t && twccSequence(msg, t.extensionId);
  if (seq !== undefined) t!.twcc.receive(seq, performance.now());
});
socket.bind(0, '127.0.0.1', () =>
  process.send!({ port: socket.address().port } satisfies SinkReply),
);

setInterval(() => {
  for (const t of byPort.values()) {
    const feedback = t.twcc.feedback();
    if (feedback) socket.send(t.srtcp.protect(feedback), t.port, '127.0.0.1');
  }
}, FEEDBACK_EVERY_MS);

process.on('message', (m: SinkRequest) => {
  if ('add' in m) {
    const { port, suite, keyBase64, extensionId, mediaSsrc } = m.add;
    const twcc = new TwccReceiver(nextSsrc++, mediaSsrc);
    byPort.set(port, { port, extensionId, srtcp: new SrtcpSender(keyBase64, suite), twcc });
  } else {
    process.send!({ count: m.count, arrived } satisfies SinkReply);
  }
});
process.on('disconnect', () => process.exit(0));
