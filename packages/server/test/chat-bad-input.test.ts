import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  decodeChatMessage,
  encodeChatMessage,
  type ChatMessage,
} from '../src/gateway/dialects/chat-protobuf.ts';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * Bad input on `/ws/chat`: every malformed or forbidden frame gets a chat-protobuf error frame
 * with the canonical code, nothing is delivered, and the connection keeps working.
 */

const MAX_FRAME = 2048;

const chatOf = (f: Frame): ChatMessage | null =>
  Buffer.isBuffer(f.binary) ? decodeChatMessage(f.binary) : null;

const msg = (m: Partial<ChatMessage>): Buffer =>
  encodeChatMessage({ from: 'alice', to: 'bob', contentType: 1, messageType: 1, ...m });

const signal = (content: unknown, m: Partial<ChatMessage> = {}): Buffer =>
  msg({
    contentType: 6,
    content: typeof content === 'string' ? content : JSON.stringify(content),
    ...m,
  });

/** Bytes written with protobufjs' Writer, for shapes the schema cannot produce. */
function raw(write: (w: protobuf.Writer) => void): Buffer {
  const w = protobuf.Writer.create();
  write(w);
  return Buffer.from(w.finish());
}

interface Case {
  name: string;
  frame: Buffer | string;
  code: string;
  message?: RegExp;
  requestType?: string;
}

const CASES: Case[] = [
  {
    name: 'truncated protobuf',
    // `content` announces 11 bytes; the frame ends after 7 of them.
    frame: raw((w) => {
      w.uint32((3 << 3) | 2).string('alice');
      w.uint32((4 << 3) | 2).string('bob');
      w.uint32((5 << 3) | 2).string('hello world');
    }).subarray(0, -4),
    code: 'bad_request',
    message: /not a valid ChatMessage/,
  },
  {
    name: 'garbage bytes',
    frame: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    code: 'bad_request',
    message: /not a valid ChatMessage/,
  },
  {
    name: 'field 6 (contentType) as length-delimited',
    frame: raw((w) => {
      w.uint32((3 << 3) | 2).string('alice');
      w.uint32((4 << 3) | 2).string('bob');
      w.uint32((6 << 3) | 2).string('1');
    }),
    code: 'bad_request',
    message: /contentType \(6\) has the wrong wire type/,
  },
  {
    name: 'field 4 (to) as varint',
    frame: raw((w) => {
      w.uint32((3 << 3) | 2).string('alice');
      w.uint32((4 << 3) | 0).uint32(7);
    }),
    code: 'bad_request',
    message: /to \(4\) has the wrong wire type/,
  },
  {
    name: 'empty frame',
    frame: Buffer.alloc(0),
    code: 'bad_request',
  },
  {
    name: 'text frame',
    frame: JSON.stringify({ from: 'alice', to: 'bob', content: 'hi' }),
    code: 'bad_request',
    message: /text frames/,
  },
  {
    name: 'oversize frame',
    frame: msg({ content: 'x'.repeat(MAX_FRAME + 1) }),
    code: 'frame_too_large',
  },
  {
    name: 'contentType 6 content not JSON',
    frame: signal('call me maybe'),
    code: 'bad_request',
    message: /must be JSON/,
  },
  {
    name: 'contentType 6 content JSON without type',
    frame: signal({ offer: {} }),
    code: 'bad_request',
  },
  {
    name: 'unknown signaling type',
    frame: signal({ type: 'call-teleport' }),
    code: 'unknown_type',
    requestType: 'call-teleport',
  },
  {
    name: 'offer without sdp',
    frame: signal({ type: 'offer', offer: { type: 'offer' } }),
    code: 'bad_request',
    requestType: 'offer',
  },
  {
    name: 'spoofed from',
    frame: msg({ from: 'mallory', content: 'it is me' }),
    code: 'forbidden',
    requestType: 'chat',
  },
  {
    name: 'spoofed from in the signal JSON',
    frame: signal({ type: 'call-invite', from: 'mallory' }),
    code: 'forbidden',
    requestType: 'call-invite',
  },
  {
    name: 'missing to',
    frame: msg({ to: '', content: 'to whom?' }),
    code: 'bad_request',
    message: /\/to/,
  },
  {
    name: 'contentType out of range',
    frame: msg({ contentType: 9 }),
    code: 'bad_request',
    message: /contentType/,
  },
  {
    name: 'chat without messageType',
    frame: msg({ messageType: 0 }),
    code: 'bad_request',
    message: /messageType/,
  },
  {
    name: 'signal for a call that does not exist',
    frame: signal({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' } }),
    code: 'not_found',
    requestType: 'offer',
  },
];

describe('chat-protobuf bad input', () => {
  let srv: TestServer;
  let alice: TestClient;
  let bob: TestClient;
  before(async () => {
    srv = await startServer({ limits: { maxFrameBytes: MAX_FRAME } });
    alice = await srv.connect('alice', 'chat');
    bob = await srv.connect('bob', 'chat');
  });
  after(() => srv.close());

  for (const c of CASES) {
    test(c.name, async () => {
      alice.send(c.frame);
      const f = await alice.next((f) => chatOf(f)?.type === 'error');
      const m = chatOf(f)!;
      assert.deepEqual([m.from, m.contentType], ['system', 6]);
      const err = JSON.parse(m.content) as Record<string, unknown>;
      assert.equal(err.type, 'error');
      assert.equal(err.code, c.code, JSON.stringify(err));
      if (c.message) assert.match(err.message as string, c.message);
      if (c.requestType) assert.equal(err.requestType, c.requestType);

      // The connection survives, and nothing of the bad frame reached bob.
      assert.equal(alice.closed, null);
      alice.send(msg({ content: `after ${c.name}` }));
      const next = chatOf(await bob.next((f) => chatOf(f) !== null))!;
      assert.equal(next.content, `after ${c.name}`);
      assert.deepEqual(await alice.quiet(20), [], 'no other frame for alice');
    });
  }
});
