import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { candidateJson } from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import { canonicalIce } from './native-ice.ts';
import { nativeDialect } from './native.ts';

const sender: Sender = {
  userId: 'alice',
  name: 'Alice',
  grants: [],
  deviceId: 'd1',
  clientType: 'web',
};
const decode = (frame: Buffer) => nativeDialect.decode(frame, false, sender);

/**
 * The frame decoded by the general path alone: JSON allows whitespace before a value, and the
 * one-pass reader accepts none, so a leading space sends the same frame the general way.
 */
const general = (frame: Buffer) => decode(Buffer.concat([Buffer.from(' '), frame]));

const chrome = {
  candidate:
    'candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 192.168.1.20 ' +
    'rport 54321 generation 0 ufrag sYUd network-id 1 network-cost 10',
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'sYUd',
};
const frameOf = (data: unknown) => Buffer.from(JSON.stringify({ type: 'call:ice', data }));

test('native ICE: a candidate as the SDK sends it is read in one pass, as the general path reads it', () => {
  for (const candidate of [
    chrome,
    null,
    { candidate: '' },
    { candidate: chrome.candidate, sdpMid: null, sdpMLineIndex: null, usernameFragment: null },
    { sdpMLineIndex: 1024, usernameFragment: 'u', sdpMid: 'audio', candidate: 'x' },
    { candidate: 'c'.repeat(4096), sdpMid: 'm'.repeat(64), usernameFragment: 'u'.repeat(256) },
  ]) {
    const frame = frameOf({ callId: 'c'.repeat(128), candidate });
    const fast = canonicalIce(frame);
    assert.ok(fast, `not read in one pass: ${frame.toString()}`);
    assert.deepEqual(fast.candidate, candidate);
    if (candidate !== null)
      assert.equal(fast[candidateJson]?.toString(), JSON.stringify(candidate));
    const slow = general(frame);
    assert.ok(slow.ok);
    assert.deepStrictEqual(fast, slow.command);
    assert.deepStrictEqual(decode(frame), { ok: true, command: fast });
  }
});

test('native ICE: a frame the one pass cannot be sure of goes the general way', () => {
  const base = { callId: 'c1', candidate: chrome };
  for (const frame of [
    // Another member order, a requestId, whitespace, an escape, a character past ASCII.
    Buffer.from(JSON.stringify({ data: base, type: 'call:ice' })),
    Buffer.from(JSON.stringify({ type: 'call:ice', requestId: 'r1', data: base })),
    Buffer.from(JSON.stringify({ type: 'call:ice', data: base }, null, 1)),
    frameOf({ callId: 'c1', candidate: { ...chrome, candidate: 'a"b' } }),
    frameOf({ callId: 'c1', candidate: { ...chrome, usernameFragment: 'é' } }),
    frameOf({ candidate: chrome, callId: 'c1' }),
    // Another member, a value over its length, an index written another way or out of range.
    frameOf({ callId: 'c1', candidate: { ...chrome, extra: 1 } }),
    frameOf({ callId: 'c1', candidate: { ...chrome, candidate: null } }),
    frameOf({ callId: 'c'.repeat(129), candidate: chrome }),
    frameOf({ callId: 'c1', candidate: { ...chrome, sdpMid: 'm'.repeat(65) } }),
    frameOf({ callId: 'c1', candidate: { ...chrome, sdpMLineIndex: 1025 } }),
    Buffer.from(frameOf(base).toString().replace('"sdpMLineIndex":0', '"sdpMLineIndex":0.0')),
    Buffer.from(frameOf(base).toString().replace('"sdpMid":"0"', '"sdpMid":"0","sdpMid":"1"')),
    // Each member repeated: JSON.parse keeps the last, the literal would hold both.
    Buffer.from(
      frameOf(base).toString().replace('"sdpMLineIndex":0', '"sdpMLineIndex":0,"sdpMLineIndex":1'),
    ),
    Buffer.from(
      frameOf(base)
        .toString()
        .replace('"usernameFragment":"sYUd"', '"usernameFragment":"a","usernameFragment":"b"'),
    ),
    Buffer.from(
      frameOf(base).toString().replace('{"candidate":"', '{"candidate":"x","candidate":"'),
    ),
    Buffer.from(`${frameOf(base).toString()} `),
  ]) {
    assert.equal(canonicalIce(frame), undefined, frame.toString());
  }
});

/** Characters that matter to a JSON reader, and some that are merely text. */
const tricky = fc.constantFrom(
  '"',
  '\\',
  ',',
  '{',
  '}',
  ':',
  ' ',
  '0',
  '1',
  '-',
  '.',
  'e',
  'n',
  'u',
  'l',
  'a',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u00e9',
  '\u2028',
  '\ud83d\ude00',
  '\ud800',
  '\\u0061',
);
const text = (maxLength: number) =>
  fc.oneof(
    { arbitrary: fc.string({ maxLength: 8 }), weight: 4 },
    { arbitrary: fc.string({ unit: tricky, maxLength: 6 }), weight: 1 },
    { arbitrary: fc.constantFrom('', 'x'.repeat(maxLength), 'x'.repeat(maxLength + 1)), weight: 1 },
  );
const lineIndex = fc.option(
  fc.oneof(fc.constantFrom(0, 1, 9, 10, 1024), fc.constantFrom(1025, -1, 1.5, 1e21)),
);
const candidate = fc.oneof(
  { arbitrary: fc.constant(null), weight: 1 },
  {
    arbitrary: fc.record(
      {
        candidate: fc.oneof({ arbitrary: text(4096), weight: 8 }, fc.constant(null)),
        sdpMid: fc.option(text(64)),
        sdpMLineIndex: lineIndex,
        usernameFragment: fc.option(text(256)),
      },
      { requiredKeys: ['candidate'] },
    ),
    weight: 6,
  },
  {
    arbitrary: fc.record(
      { candidate: text(8), sdpMLineIndex: lineIndex, extra: fc.constant(true) },
      { requiredKeys: [] },
    ),
    weight: 1,
  },
  { arbitrary: fc.oneof(fc.string(), fc.integer(), fc.array(fc.nat())), weight: 1 },
);
const callId = fc.oneof(fc.constantFrom('c1', 'c'.repeat(128), 'c'.repeat(129)), text(128));
const data = fc.oneof(
  { arbitrary: fc.record({ callId, candidate }), weight: 4 },
  { arbitrary: fc.record({ callId, candidate }, { requiredKeys: [] }), weight: 1 },
);
/** A byte changed, added or taken away: what JSON.stringify never writes. */
const edit = fc.tuple(
  fc.constantFrom('set', 'insert', 'delete'),
  fc.nat(),
  fc.constantFrom(
    ...[...'"\\,{}: 0-.e9n'].map((c) => c.charCodeAt(0)),
    0x00,
    0x09,
    0x1f,
    0x7f,
    0x80,
    0xff,
  ),
);

function edited(frame: Buffer, [kind, at, byte]: [string, number, number]): Buffer {
  const i = at % (frame.length + 1);
  const bytes = [...frame];
  if (kind === 'set' && i < bytes.length) bytes[i] = byte;
  else if (kind === 'insert') bytes.splice(i, 0, byte);
  else bytes.splice(i, 1);
  return Buffer.from(bytes);
}

test('native ICE: the one pass and the general path agree on every frame (fuzzed)', () => {
  fc.assert(
    fc.property(data, fc.option(edit, { freq: 3 }), (d, change) => {
      const written = frameOf(d);
      const frame = change ? edited(written, change) : written;
      const fast = canonicalIce(frame);
      const slow = general(frame);
      if (fast !== undefined) {
        assert.ok(slow.ok, `the general path refuses ${frame.toString()}`);
        assert.deepStrictEqual(fast, slow.command);
      }
      // Whichever way it went, the dialect's answer is the general path's.
      assert.deepStrictEqual(decode(frame), slow);
    }),
    { numRuns: 20_000 },
  );
});
