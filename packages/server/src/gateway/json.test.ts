import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Type } from '@sinclair/typebox';
import { ID_MAX_LENGTH, SAFE_TEXT_PATTERN } from '@parley/protocol';
import { candidateLiteral, peekMembers, sdpLiteral, validator, withLiteral } from './json.ts';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n';

/** What the relay may splice must be exactly the `data.sdp` the parser read. */
function assertSound(text: string): Buffer | undefined {
  const frame = Buffer.from(text);
  const literal = sdpLiteral(frame);
  // Given the frame's own UTF-8 text (as the dialects pass it), the answer is the same.
  assert.deepEqual(sdpLiteral(frame, frame.toString()), literal, text);
  if (literal) {
    const parsed = JSON.parse(text) as { data: { sdp: string } };
    assert.equal(JSON.parse(literal.toString()), parsed.data.sdp, text);
  }
  return literal;
}

test('sdpLiteral takes the literal as the sender wrote it, escapes included', () => {
  const text = JSON.stringify({ type: 'call:offer', data: { callId: 'c1', sdp: SDP } });
  const literal = assertSound(text);
  assert.equal(literal?.toString(), JSON.stringify(SDP));
  // Quotes, backslashes and non-ASCII inside the SDP, and \/ which JSON.stringify never writes.
  for (const sdp of ['a="q" \\ b', 'ends with \\', '\\"', 'μ 中文 🎥', 'x\\/y', '\u0001']) {
    const raw = `{"type":"call:offer","data":{"callId":"c1","sdp":${JSON.stringify(sdp)}}}`;
    assert.ok(assertSound(raw), raw);
  }
  assert.ok(assertSound('{"type":"call:offer","data":{"callId":"c1","sdp":"x\\/y"}}'));
});

test('sdpLiteral gives up whenever it cannot be sure which literal the parser read', () => {
  const cases = [
    // A duplicate: JSON.parse keeps the last one.
    '{"type":"call:offer","data":{"sdp":"first","callId":"c1","sdp":"second"}}',
    // The key spelled with an escape, next to a plain decoy.
    '{"type":"call:offer","data":{"x":{"sdp":"decoy"},"callId":"c1","s\\u0064p":"real"}}',
    // A \u escape outside the SDP, where it could spell a member's name.
    '{"type":"call:offer","data":{"callId":"c\\u0031","sdp":"real"}}',
    // A nested member of the same name.
    '{"type":"call:offer","data":{"callId":"c1","sdp":"real","extra":{"sdp":"decoy"}}}',
    // A string value "sdp".
    '{"type":"call:offer","requestId":"sdp","data":{"callId":"c1","sdp":"real"}}',
    // Whitespace after the key.
    '{"type":"call:offer","data":{"callId":"c1","sdp" : "real"}}',
    // Not a string (the validator refuses it, but the scan must not assume so).
    '{"type":"call:offer","data":{"callId":"c1","sdp":1}}',
    // No sdp at all.
    '{"type":"call:ice","data":{"callId":"c1","candidate":null}}',
  ];
  for (const text of cases) assert.equal(assertSound(text), undefined, text);
});

test('sdpLiteral never returns anything but the parsed value (generated frames)', () => {
  const keys = ['"sdp"', '"s\\u0064p"', '"x\\"sdp"', '"sdp_type"', '"callId"'];
  const values = [
    '"a\\"b"',
    '"\\\\"',
    '"sdp"',
    '"\\u0073"',
    '"\\r\\n"',
    '{"sdp":"n"}',
    '1',
    'null',
  ];
  let seed = 7;
  const pick = <T>(xs: readonly T[]): T => xs[(seed = (seed * 48271) % 2147483647) % xs.length]!;
  let spliced = 0;
  for (let i = 0; i < 3000; i++) {
    const members = Array.from({ length: 1 + (i % 4) }, () => `${pick(keys)}:${pick(values)}`);
    const text = `{"type":"call:offer","data":{${members.join(',')}}}`;
    const parsed = JSON.parse(text) as { data: { sdp?: unknown } };
    if (typeof parsed.data.sdp !== 'string') continue;
    if (assertSound(text)) spliced++;
  }
  assert.ok(spliced > 100, `the fast path was taken (${spliced} times)`);
});

test('withLiteral appends the member (and more) to the inner object', () => {
  const head = JSON.stringify({ type: 'video_call', data: { type: 'rtc_offer', who: 'ü' } });
  const out = withLiteral(head, 'sdp', Buffer.from(JSON.stringify(SDP)), ',"sdp_type":"offer"');
  assert.deepEqual(JSON.parse(out.toString()), {
    type: 'video_call',
    data: { type: 'rtc_offer', who: 'ü', sdp: SDP, sdp_type: 'offer' },
  });
  const plain = withLiteral('{"data":{"a":1}}', 'sdp', Buffer.from('"x"'));
  assert.equal(plain.toString(), '{"data":{"a":1,"sdp":"x"}}');
});

test('peekMembers reads the first string members of an unparsed frame, bounded', () => {
  const frame = Buffer.from(
    '{"type":"rtc:consume","requestId":"r\\"1","data":{"requestId":"inner","x":"' +
      'y'.repeat(100_000),
  );
  assert.deepEqual(peekMembers(frame, ['requestId', 'type']), {
    type: 'rtc:consume',
    requestId: 'r"1',
  });
  const late = Buffer.from(`{"data":"${'z'.repeat(2000)}","requestId":"late"}`);
  assert.deepEqual(peekMembers(late, ['requestId']), {}, 'only the start is searched');
});

const CAND =
  '{"candidate":"candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}';

test('candidateLiteral takes the candidate object as the sender wrote it', () => {
  const at = (text: string) => candidateLiteral(Buffer.from(text))?.toString();
  assert.equal(at(`{"type":"call:ice","data":{"callId":"c","candidate":${CAND}}}`), CAND);
  // Whitespace around the colon, other members after it, nested values inside it.
  const spaced = '{ "candidate" : "a:\\"b}", "x": {"y": [1, {"z": "}"}]} }';
  assert.equal(
    at(`{"type":"call:ice","data":{"candidate" :\n ${spaced}, "callId":"c"},"requestId":"r"}`),
    spaced,
  );
});

test('candidateLiteral gives up whenever it cannot be sure which object the parser read', () => {
  const gives = (text: string) =>
    assert.equal(candidateLiteral(Buffer.from(text)), undefined, text);
  // A duplicate: the parser takes the last.
  gives(`{"data":{"candidate":${CAND},"candidate":${CAND}}}`);
  // An extra member that holds a candidate of its own, before or after.
  gives(`{"data":{"x":{"candidate":{"candidate":"q"}},"candidate":${CAND}}}`);
  gives(`{"data":{"candidate":${CAND},"x":{"candidate":1}}}`);
  // A name spelled with an escape: here the parser takes the second, escaped pair.
  gives('{"data":{"candidate":{"candidate":"A"},"c\\u0061ndidate":{"c\\u0061ndidate":"B"}}}');
  // Or one that makes a third name.
  gives(`{"data":{"c\\u0061ndidate":{"candidate":"q"},"candidate":${CAND}}}`);
  // Null, or no inner member named so.
  gives('{"data":{"candidate":null}}');
});

test('candidateLiteral never returns anything but the parsed value (generated frames)', () => {
  const name = fc.oneof(
    { arbitrary: fc.constant('"candidate"'), weight: 4 },
    fc.constantFrom('"c\\u0061ndidate"', '"x\\"candidate"', '"sdpMid"', '"callId"'),
  );
  const ws = fc.constantFrom('', ' ', '\n\t ');
  const leaf = fc.constantFrom(
    '"candidate"',
    '"\\"candidate\\":{"',
    '"}"',
    '1',
    'null',
    '"a\\\\"',
    '"é€"',
  );
  const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
    v: fc.oneof(
      { arbitrary: leaf, weight: 3 },
      fc
        .array(fc.tuple(name, ws, tie('v') as fc.Arbitrary<string>), { maxLength: 3 })
        .map((ms) => `{${ms.map(([k, w, v]) => `${k}${w}:${w}${v}`).join(',')}}`),
    ),
  })).v;
  let spliced = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(name, ws, value), { minLength: 1, maxLength: 4 }), (members) => {
      const text = `{"type":"call:ice","data":{${members.map(([k, w, v]) => `${k}${w}:${w}${v}`).join(',')}}}`;
      const parsed = JSON.parse(text) as { data: { candidate?: unknown } };
      const c = parsed.data.candidate;
      if (typeof c !== 'object' || c === null || !('candidate' in c)) return;
      const frame = Buffer.from(text);
      const literal = candidateLiteral(frame);
      // Given the frame's own UTF-8 text (as the dialects pass it), the answer is the same.
      assert.deepEqual(candidateLiteral(frame, text), literal, text);
      if (literal === undefined) return;
      spliced++;
      assert.deepEqual(JSON.parse(literal.toString()), c, text);
    }),
    { numRuns: 5000 },
  );
  assert.ok(spliced > 50, `the fast path was taken (${spliced} times)`);
});

test('the literal scans reuse the UTF-8 text only where it is the frame byte for byte', () => {
  const cand = '{"candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host"}';
  // Non-ASCII in the frame: the text's indexes are not byte offsets, so the frame is read again.
  const wide = Buffer.from(`{"type":"call:ice","data":{"callId":"ç€","candidate":${cand}}}`);
  assert.equal(candidateLiteral(wide, wide.toString())?.toString(), cand);
  const sdp = Buffer.from(`{"type":"call:offer","data":{"callId":"ç","sdp":"s=€"}}`);
  assert.equal(sdpLiteral(sdp, sdp.toString())?.toString(), '"s=€"');
  // Bytes that are not UTF-8 (each becomes one U+FFFD: a character per byte still).
  const bad = Buffer.concat([
    Buffer.from('{"type":"call:ice","data":{"callId":"'),
    Buffer.from([0x80, 0x80]),
    Buffer.from(`","candidate":${cand}}}`),
  ]);
  assert.equal(bad.toString().length, bad.length);
  assert.equal(candidateLiteral(bad, bad.toString())?.toString(), cand);
});

test('validator names what is wrong with an id: its length, or a control character in it', () => {
  const check = validator(
    Type.Object({
      callId: Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: SAFE_TEXT_PATTERN }),
    }),
  );
  const messageOf = (callId: string) => {
    try {
      check({ callId });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(messageOf('c'.repeat(ID_MAX_LENGTH)), 'accepted');
  assert.match(messageOf('c'.repeat(ID_MAX_LENGTH + 1)), /^invalid field \/callId: .*length.*128/);
  assert.match(messageOf(''), /^invalid field \/callId: .*length/);
  assert.equal(messageOf('a\u0000b'), 'invalid field /callId: control characters are not allowed');
});
