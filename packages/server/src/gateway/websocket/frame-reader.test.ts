import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameReader, type FrameSink } from './frame-reader.ts';

/** A client's frame (RFC 6455 §5.2): masked, with any header bits a test wants. */
function clientFrame(
  op: number,
  payload: Uint8Array,
  { fin = true, rsv = 0, masked = true, mask = [0x12, 0x34, 0x56, 0x78] } = {},
): Buffer {
  const n = payload.length;
  const len = n < 126 ? [n] : n < 0x10000 ? [126, n >> 8, n & 0xff] : [127, 0, 0, 0, 0, ...u32(n)];
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | op, (masked ? 0x80 : 0) | len[0]!, ...len.slice(1)];
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < n; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([Buffer.from(head), Buffer.from(masked ? mask : []), body]);
}
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

type Seen =
  | { message: string; binary: boolean }
  | { ping: string }
  | { pong: true }
  | { close: number; reason: string }
  | { fail: number };

function reader(maxPayload = 1 << 20): { r: FrameReader; seen: Seen[] } {
  const seen: Seen[] = [];
  const sink: FrameSink = {
    message: (data, binary) => seen.push({ message: data.toString('latin1'), binary }),
    pinged: (data) => seen.push({ ping: data.toString('latin1') }),
    ponged: () => seen.push({ pong: true }),
    closeFrame: (close, reason) => seen.push({ close, reason }),
    fail: (code) => seen.push({ fail: code }),
  };
  return { r: new FrameReader(maxPayload, sink), seen };
}

const TEXT = 1;
const BINARY = 2;
const text = (s: string) => Buffer.from(s);
const closePayload = (code: number, reason = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

test('FrameReader: messages, fragmented or not, arrive whole and in order however the bytes are cut', () => {
  const message = fc.record({
    binary: fc.boolean(),
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom(125, 126, 127, 0xffff, 0x10000).map((n) => new Uint8Array(n).fill(0x61)),
    ),
    // Cut points of the payload into fragments (sorted, deduplicated below).
    cuts: fc.array(fc.nat(), { maxLength: 3 }),
    // A ping between two of its fragments (control frames may interleave).
    ping: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (messages, chunkCuts) => {
        const frames: Buffer[] = [];
        const expected: Seen[] = [];
        for (const m of messages) {
          // Text as latin1 of ASCII, so every byte string is valid UTF-8.
          const bytes = m.binary ? m.bytes : m.bytes.map((b) => b & 0x7f);
          const cuts = [...new Set(m.cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const parts: Uint8Array[] = [];
          let from = 0;
          for (const c of cuts) {
            parts.push(bytes.subarray(from, c));
            from = c;
          }
          parts.push(bytes.subarray(from));
          parts.forEach((part, i) => {
            const op = i === 0 ? (m.binary ? BINARY : TEXT) : 0;
            frames.push(clientFrame(op, part, { fin: i === parts.length - 1 }));
            if (m.ping && i === 0 && parts.length > 1) {
              frames.push(clientFrame(0x9, text('hi')));
              expected.push({ ping: 'hi' });
            }
          });
          expected.push({ message: Buffer.from(bytes).toString('latin1'), binary: m.binary });
        }
        const all = Buffer.concat(frames);
        const { r, seen } = reader();
        const at = [...new Set(chunkCuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const c of [...at, all.length]) {
          // Each chunk a buffer of its own, as the socket delivers them.
          r.push(Buffer.from(all.subarray(from, c)));
          from = c;
        }
        assert.deepEqual(seen, expected);
      },
    ),
    { numRuns: 300 },
  );
});

test('FrameReader: one byte at a time', () => {
  const all = Buffer.concat([
    clientFrame(TEXT, text('x'.repeat(200))),
    clientFrame(0xa, text('')),
    clientFrame(BINARY, Buffer.alloc(70_000, 7)),
    clientFrame(0x8, closePayload(1000, 'bye')),
  ]);
  const { r, seen } = reader();
  for (const byte of all) r.push(Buffer.from([byte]));
  assert.deepEqual(seen, [
    { message: 'x'.repeat(200), binary: false },
    { pong: true },
    { message: Buffer.alloc(70_000, 7).toString('latin1'), binary: true },
    { close: 1000, reason: 'bye' },
  ]);
});

test('FrameReader: each breach of RFC 6455 is refused with its close code, and nothing after it is read', () => {
  const after = clientFrame(TEXT, text('after'));
  const cases: Array<[string, Buffer, number]> = [
    ['unmasked', clientFrame(TEXT, text('a'), { masked: false }), 1002],
    ['reserved bit', clientFrame(TEXT, text('a'), { rsv: 4 }), 1002],
    ['reserved data opcode', clientFrame(3, text('a')), 1002],
    ['reserved control opcode', clientFrame(0xb, text('a')), 1002],
    ['control frame over 125 bytes', clientFrame(0x9, Buffer.alloc(126)), 1002],
    ['fragmented control frame', clientFrame(0x9, text('a'), { fin: false }), 1002],
    ['continuation of nothing', clientFrame(0, text('a')), 1002],
    [
      'a new message inside a fragmented one',
      Buffer.concat([clientFrame(TEXT, text('a'), { fin: false }), clientFrame(TEXT, text('b'))]),
      1002,
    ],
    ['text that is not UTF-8', clientFrame(TEXT, Buffer.from([0xc3, 0x28])), 1007],
    [
      'UTF-8 cut between fragments is fine, but not at the end',
      Buffer.concat([
        clientFrame(TEXT, Buffer.from([0xc3]), { fin: false }),
        clientFrame(0, Buffer.from([0xa9, 0xc3])),
      ]),
      1007,
    ],
    ['close code cut short', clientFrame(0x8, Buffer.from([3])), 1002],
    ['close code 1005 sent', clientFrame(0x8, closePayload(1005)), 1002],
    ['close code 2000', clientFrame(0x8, closePayload(2000)), 1002],
    ['close reason not UTF-8', clientFrame(0x8, Buffer.from([3, 0xe8, 0xff])), 1007],
  ];
  for (const [name, bytes, code] of cases) {
    const { r, seen } = reader();
    r.push(Buffer.concat([bytes, after]));
    r.push(after);
    assert.deepEqual(seen, [{ fail: code }], name);
  }
});

test('FrameReader: a message over the cap is refused from its header (1009), its bytes never kept', () => {
  const { r, seen } = reader(1000);
  // Only the header of a 1001-byte frame: refused before any of its payload is here.
  r.push(clientFrame(BINARY, Buffer.alloc(1001)).subarray(0, 8));
  assert.deepEqual(seen, [{ fail: 1009 }]);

  // Fragments count together.
  const two = reader(1000);
  two.r.push(clientFrame(BINARY, Buffer.alloc(600), { fin: false }));
  two.r.push(clientFrame(0, Buffer.alloc(401)).subarray(0, 8));
  assert.deepEqual(two.seen, [{ fail: 1009 }]);

  // A 64-bit length past 4 GiB.
  const huge = reader(1000);
  huge.r.push(Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]));
  assert.deepEqual(huge.seen, [{ fail: 1009 }]);
});

test('FrameReader: a message in too many fragments is refused (1009)', () => {
  const { r, seen } = reader();
  r.push(clientFrame(TEXT, text(''), { fin: false }));
  for (let i = 0; i < 2000 && seen.length === 0; i++)
    r.push(clientFrame(0, text(''), { fin: false }));
  assert.deepEqual(seen, [{ fail: 1009 }]);
});

test('FrameReader: close frames name their code (1005 when none), and end the reading', () => {
  const empty = reader();
  empty.r.push(Buffer.concat([clientFrame(0x8, Buffer.alloc(0)), clientFrame(TEXT, text('x'))]));
  assert.deepEqual(empty.seen, [{ close: 1005, reason: '' }]);
  const named = reader();
  named.r.push(clientFrame(0x8, closePayload(4321, 'é')));
  assert.deepEqual(named.seen, [{ close: 4321, reason: 'é' }]);
});

test('FrameReader: a whole frame in one chunk is handed on as a view of it (no copy)', () => {
  const chunk = clientFrame(TEXT, text('hello'));
  let got: Buffer | undefined;
  const r = new FrameReader(1000, {
    message: (data) => (got = data),
    pinged: () => {},
    ponged: () => {},
    closeFrame: () => {},
    fail: () => {},
  });
  r.push(chunk);
  assert.equal(got?.buffer, chunk.buffer);
  assert.equal(got?.toString(), 'hello');
});

test('FrameReader: arbitrary bytes never throw, and after a close or a breach nothing more is read', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          // Plausible headers with random bits, so that parsing gets past the first checks.
          fc
            .tuple(fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 40 }))
            .map(([b0, b1, rest]) => Uint8Array.from([b0, b1 | 0x80, ...rest])),
        ),
        { maxLength: 20 },
      ),
      (chunks) => {
        const { r, seen } = reader(100);
        for (const c of chunks) r.push(Buffer.from(c));
        const end = seen.findIndex((s) => 'fail' in s || 'close' in s);
        assert.ok(end === -1 || end === seen.length - 1, JSON.stringify(seen));
        for (const s of seen) {
          if ('message' in s) assert.ok(s.message.length <= 100);
          if ('fail' in s) assert.ok([1002, 1007, 1009].includes(s.fail));
        }
      },
    ),
    { numRuns: 2000 },
  );
});
