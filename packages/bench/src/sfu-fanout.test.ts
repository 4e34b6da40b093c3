import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import { isVp8KeyFrameStart, UdpSink } from './sfu-fanout.ts';

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
    assert.equal(sink.arrived(), 0);
    const sent = 2000;
    const payload = Buffer.alloc(1000);
    for (let i = 0; i < sent; i++) socket.send(payload, sink.port, '127.0.0.1');
    // Its 64 KiB buffer keeps a few dozen; every later packet is a drop it counts.
    const deadline = Date.now() + 20_000;
    while (sink.arrived() < sent - 500 && Date.now() < deadline) await delay(50);
    const arrived = sink.arrived();
    assert.ok(arrived >= sent - 500 && arrived < sent, `${arrived} of ${sent} counted`);
  } finally {
    socket.close();
    sink.close();
  }
});
