import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TwccReceiver, twccSequence } from './twcc.ts';

/** An RTP header with a one-byte extension block holding `elements` (id, bytes). */
function rtp(elements: Array<[number, number[]]>): Buffer {
  const body = elements.flatMap(([id, data]) => [(id << 4) | (data.length - 1), ...data]);
  while (body.length % 4) body.push(0);
  const b = Buffer.alloc(12 + 4 + body.length + 10);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(body.length / 4, 14);
  Buffer.from(body).copy(b, 16);
  return b;
}

test('twccSequence reads the transport-wide sequence number among other extensions', () => {
  assert.equal(twccSequence(rtp([[3, [0x12, 0x34]]]), 3), 0x1234);
  assert.equal(
    twccSequence(
      rtp([
        [1, [9]],
        [4, [1, 2, 3]],
        [3, [0xff, 0xfe]],
      ]),
      3,
    ),
    0xfffe,
  );
  assert.equal(twccSequence(rtp([[1, [9]]]), 3), undefined);
  const noExtension = Buffer.alloc(40);
  noExtension[0] = 0x80;
  assert.equal(twccSequence(noExtension, 3), undefined);
});

/** The statuses and deltas of a feedback packet, decoded as its draft describes. */
function decode(fb: Buffer) {
  const base = fb.readUInt16BE(12);
  const count = fb.readUInt16BE(14);
  const symbols: number[] = [];
  let at = 20;
  while (symbols.length < count) {
    const chunk = fb.readUInt16BE(at);
    at += 2;
    assert.equal(chunk >> 14, 3, 'a status vector chunk of two-bit symbols');
    for (let k = 0; k < 7 && symbols.length < count; k++) symbols.push((chunk >> (12 - 2 * k)) & 3);
  }
  const deltas = symbols
    .filter((s) => s !== 0)
    .map((s) => (s === 1 ? fb[at++]! : ((at += 2), fb.readInt16BE(at - 2))));
  return { base, count, symbols, deltas, reference: fb.readUIntBE(16, 3), fbCount: fb[19] };
}

test('TwccReceiver reports what arrived, the gaps as lost, then starts after its last report', () => {
  const rx = new TwccReceiver(1, 2);
  assert.equal(rx.feedback(), undefined);
  rx.receive(0xfffe, 640);
  rx.receive(0xffff, 641);
  rx.receive(1, 650.5); // 0 is lost; the sequence wraps
  rx.receive(2, 600); // late by a negative delta
  const fb = rx.feedback()!;
  assert.equal(fb.length % 4, 0);
  assert.equal(fb.readUInt16BE(2), fb.length / 4 - 1);
  assert.equal(fb.readUInt32BE(4), 1);
  assert.equal(fb.readUInt32BE(8), 2);
  const d = decode(fb);
  assert.equal(d.base, 0xfffe);
  assert.equal(d.count, 5);
  assert.deepEqual(d.symbols, [2, 1, 0, 1, 2]);
  // The reference is the earliest arrival in 64 ms units; deltas in 250 µs units.
  assert.equal(d.reference, Math.floor(600 / 64));
  assert.deepEqual(d.deltas, [(640 - 576) * 4, 4, 38, (600 - 650.5) * 4]);
  assert.equal(d.fbCount, 0);
  rx.receive(2, 700); // reported already
  rx.receive(4, 700);
  const next = decode(rx.feedback()!);
  assert.equal(next.base, 3);
  assert.deepEqual(next.symbols, [0, 1]);
  assert.equal(next.fbCount, 1);
});
