import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { candidateJson, type ServerEvent } from '@parley/protocol';
import { IceFrames } from './ice-frame.ts';

type IceEvent = Extract<ServerEvent, { type: 'call:ice' }>;

const text = fc.string({ unit: 'binary', maxLength: 40 });
const candidate = fc.option(
  fc.record(
    {
      candidate: text,
      sdpMid: fc.option(text),
      sdpMLineIndex: fc.option(fc.nat(1024)),
      usernameFragment: fc.option(text),
    },
    { requiredKeys: ['candidate'] },
  ),
);
const name = fc.oneof(fc.constantFrom('alice', 'bob', 'carol'), text);
const event: fc.Arbitrary<IceEvent> = fc.record({
  type: fc.constant('call:ice' as const),
  callId: fc.constantFrom('c1', 'c2', 'c3'),
  caller: name,
  callee: name,
  media: fc.constantFrom('audio' as const, 'video' as const),
  from: name,
  candidate,
});

test('IceFrames: the same text as stringifying the whole event, whatever the calls and sides', () => {
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (events) => {
      const frames = new IceFrames();
      for (const e of events) {
        assert.equal(frames.frame(e), JSON.stringify({ type: e.type, data: e }));
      }
    }),
    { numRuns: 300 },
  );
});

test('IceFrames: a call whose parties change under the same id still gets the right head', () => {
  const frames = new IceFrames();
  const a: IceEvent = {
    type: 'call:ice',
    callId: 'c1',
    caller: 'alice',
    callee: 'bob',
    media: 'video',
    from: 'alice',
    candidate: null,
  };
  const variants: IceEvent[] = [
    a,
    { ...a, from: 'bob' },
    { ...a, media: 'audio' },
    { ...a, caller: 'carol', from: 'carol' },
    { ...a, callee: 'dave', from: 'dave' },
    a,
  ];
  for (const e of variants)
    assert.equal(frames.frame(e), JSON.stringify({ type: e.type, data: e }));
});

test("IceFrames: with the sender's literal, the frame carries those bytes and parses to the same event", () => {
  fc.assert(
    fc.property(
      fc.array(event, { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      (events, spaced) => {
        const frames = new IceFrames();
        for (const e of events) {
          if (e.candidate === null) continue;
          const literal = Buffer.from(JSON.stringify(e.candidate, null, spaced ? 1 : undefined));
          const out = frames.frame({ ...e, [candidateJson]: literal });
          assert.ok(Buffer.isBuffer(out));
          assert.ok(out.includes(literal));
          assert.deepEqual(
            JSON.parse(out.toString()),
            JSON.parse(JSON.stringify({ type: e.type, data: e })),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});
