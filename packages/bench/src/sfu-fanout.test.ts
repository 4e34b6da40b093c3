import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { createApp, loadConfig, type PlainTransport } from '@parley/server';
import {
  BROWSER_SRTP,
  FeedbackSink,
  isVp8KeyFrameStart,
  SinkConsumers,
  UdpSink,
} from './sfu-fanout.ts';
import { TWCC_URI } from './twcc.ts';

/** An RTP packet (optionally with a one-byte header extension block) around a VP8 payload. */
function rtp(vp8: number[], extensionWords = 0): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (extensionWords > 0 ? 0x10 : 0);
  header[1] = 96;
  const ext = Buffer.alloc(extensionWords > 0 ? 4 + extensionWords * 4 : 0);
  if (extensionWords > 0) {
    ext.writeUInt16BE(0xbede, 0);
    ext.writeUInt16BE(extensionWords, 2);
  }
  return Buffer.concat([header, ext, Buffer.from(vp8)]);
}

test('isVp8KeyFrameStart finds the first packet of a key frame, past extensions and picture ids', () => {
  // X=1 S=1 PID=0; I=1; 15-bit picture id; VP8 header with P=0 (key frame).
  assert.equal(isVp8KeyFrameStart(rtp([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00])), true);
  assert.equal(isVp8KeyFrameStart(rtp([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00], 2)), true);
  // 7-bit picture id, TL0PICIDX and TID present.
  assert.equal(isVp8KeyFrameStart(rtp([0x90, 0xe0, 0x05, 0x07, 0x40, 0x10])), true);
  // No extension byte at all.
  assert.equal(isVp8KeyFrameStart(rtp([0x10, 0x10])), true);
  // A delta frame (P=1), a packet that does not start the partition, partition 1.
  assert.equal(isVp8KeyFrameStart(rtp([0x90, 0x80, 0x81, 0x23, 0x11])), false);
  assert.equal(isVp8KeyFrameStart(rtp([0x80, 0x80, 0x81, 0x23, 0x10])), false);
  assert.equal(isVp8KeyFrameStart(rtp([0x91, 0x80, 0x81, 0x23, 0x10])), false);
});

test('UdpSink counts what reaches it once its buffer is full, and never reads', async () => {
  const sink = await UdpSink.open();
  const socket = createSocket('udp4');
  try {
    assert.equal(await sink.arrived(), 0);
    const sent = 2000;
    const payload = Buffer.alloc(1000);
    for (let i = 0; i < sent; i++) socket.send(payload, sink.port, '127.0.0.1');
    // Its 64 KiB buffer keeps a few dozen; every later packet is a drop it counts.
    const deadline = Date.now() + 20_000;
    while ((await sink.arrived()) < sent - 500 && Date.now() < deadline) await delay(50);
    const arrived = await sink.arrived();
    assert.ok(arrived >= sent - 500 && arrived < sent, `${arrived} of ${sent} counted`);
  } finally {
    socket.close();
    sink.close();
  }
});

test('FeedbackSink answers each consumer transport with feedback mediasoup accepts', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-sink-'));
  const config = loadConfig(process.env, {
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    auth: { jwtSecret: 'sink-test-secret-of-at-least-32-bytes' },
    sfu: { workers: 1, webRtcServerPort: 0 },
  });
  const app = await createApp(config, { log: pino({ level: 'silent' }) });
  const sink = await FeedbackSink.open();
  const udp = createSocket('udp4');
  t.after(async () => {
    sink.close();
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await app.sfu.start();
  const { router } = await app.sfu.createRouter({ bench: true });
  // A VP8 stream of 1 Mbit/s (100 packets/s of 1,250 bytes), every packet a key frame, so that
  // a new consumer forwards from the first, and the stream wants more than the 600 kbit/s a
  // PlainTransport's bandwidth estimate starts at.
  const ingest = await router.createPlainTransport({ listenIp: '127.0.0.1', comedia: true });
  const producer = await ingest.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: 1111 }],
    },
  });
  let seq = 0;
  const timer = setInterval(() => {
    const p = Buffer.alloc(1250);
    p[0] = 0x80;
    p[1] = 0x80 | 96; // marker: a frame of one packet
    p.writeUInt16BE(seq & 0xffff, 2);
    p.writeUInt32BE((seq * 900) >>> 0, 4);
    p.writeUInt32BE(1111, 8);
    // VP8: X=1 S=1 partition 0, a 15-bit picture id; a key frame's header (P=0, 640x480).
    const vp8 = [0x90, 0x80, 0x80 | ((seq >> 8) & 0x7f), seq & 0xff, 0, 0, 0, 0x9d, 0x01, 0x2a];
    Buffer.from([...vp8, 0x80, 0x02, 0xe0, 0x01]).copy(p, 12);
    udp.send(p, ingest.tuple.localPort, '127.0.0.1');
    seq++;
  }, 10);

  t.after(() => {
    clearInterval(timer);
    udp.close();
  });
  // Two consumers in the suite a browser negotiates (the default), one in each other suite.
  const fans = [
    new SinkConsumers(router, producer.id, sink),
    new SinkConsumers(router, producer.id, sink, 'AEAD_AES_128_GCM'),
    new SinkConsumers(router, producer.id, sink, 'AES_CM_128_HMAC_SHA1_80'),
  ];
  await Promise.all(fans.map((f, i) => f.grow(i === 0 ? 2 : 1, 10_000)));
  // The control: a transport whose feedback the sink sends under another key than the one the
  // transport expects, so that mediasoup drops every packet of it.
  const control = await router.createPlainTransport({
    listenIp: '127.0.0.1',
    comedia: false,
    enableSrtp: true,
    srtpCryptoSuite: BROWSER_SRTP,
  });
  await control.connect({
    ip: '127.0.0.1',
    port: sink.port,
    srtpParameters: { cryptoSuite: BROWSER_SRTP, keyBase64: randomBytes(44).toString('base64') },
  });
  const consumer = await control.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  sink.answer({
    port: control.tuple.localPort,
    suite: BROWSER_SRTP,
    keyBase64: randomBytes(44).toString('base64'),
    extensionId: consumer.rtpParameters.headerExtensions!.find((h) => h.uri === TWCC_URI)!.id,
    mediaSsrc: consumer.rtpParameters.encodings![0]!.ssrc!,
  });
  // Feedback that acknowledges every packet at once lets the estimate grow past 600 kbit/s
  // towards what the stream wants; without feedback it stays where it started.
  const estimate = async (tr: PlainTransport) =>
    (await tr.getStats())[0]!.availableOutgoingBitrate!;
  const transports = fans.flatMap((f) => f.transports);
  const deadline = Date.now() + 20_000;
  const answered = async () =>
    (await Promise.all(transports.map(estimate))).every((b) => b > 900_000);
  while (!(await answered()) && Date.now() < deadline) await delay(100);
  assert.ok(await answered(), `estimates ${(await Promise.all(transports.map(estimate))).join()}`);
  assert.ok((await estimate(control)) <= 600_000, `control ${await estimate(control)}`);
  assert.ok((await sink.arrived()) > 0);
});
