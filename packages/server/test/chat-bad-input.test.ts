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
const MAX_CHAT_FRAME = 4096;

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
    name: 'oversize frame (above the chat frame cap)',
    frame: msg({ content: 'x'.repeat(MAX_CHAT_FRAME + 1) }),
    code: 'frame_too_large',
  },
  {
    name: 'oversize text frame (above the ordinary frame cap)',
    frame: 'x'.repeat(MAX_FRAME + 1),
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
    srv = await startServer({
      limits: { maxFrameBytes: MAX_FRAME, maxChatFrameBytes: MAX_CHAT_FRAME },
    });
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

describe('big chat frames (default limits)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('a message with a 300 KB inline avatar and a 200 KB file arrives field for field', async () => {
    const ann = await srv.connect('big-ann', 'chat');
    const ben = await srv.connect('big-ben', 'chat');
    const avatar = `data:image/png;base64,${Buffer.alloc(225_000, 7).toString('base64')}`;
    const file = new Uint8Array(200_000).map((_, i) => i % 251);
    ann.send(
      encodeChatMessage({
        avatar,
        fromUsername: 'Ann',
        from: 'big-ann',
        to: 'big-ben',
        content: 'holiday.jpg',
        contentType: 3,
        type: 'image',
        messageType: 1,
        fileSuffix: 'jpg',
        file,
        timestamp: 1,
      }),
    );
    const got = chatOf(await ben.next((f) => chatOf(f) !== null))!;
    assert.ok(avatar.length > 300_000);
    assert.equal(got.avatar, avatar);
    assert.deepEqual(Buffer.from(got.file), Buffer.from(file));
    assert.deepEqual(
      [got.fromUsername, got.from, got.content, got.contentType, got.type, got.fileSuffix],
      ['Ann', 'big-ann', 'holiday.jpg', 3, 'image', 'jpg'],
    );
  });

  test('a flood of big frames is refused with rate_limited; the connection stays', async () => {
    const cat = await srv.connect('big-cat', 'chat');
    const dan = await srv.connect('big-dan', 'chat');
    const file = new Uint8Array(400_000);
    // Enough that the flood outruns the refill however slowly a loaded machine moves the
    // bytes (up to ~7 s), and few enough refusals that it stays under the flood strikes.
    const sent = 24;
    const t0 = performance.now();
    for (let i = 0; i < sent; i++) {
      cat.send(msg({ from: 'big-cat', to: 'big-dan', contentType: 2, content: `f${i}`, file }));
    }
    let delivered = 0;
    let refused = 0;
    const done = new Promise<void>((resolve) => {
      const check = () => delivered + refused === sent && resolve();
      dan.subscribe(
        (f) => chatOf(f) !== null,
        () => (delivered++, check()),
      );
      cat.subscribe(
        (f) => chatOf(f)?.type === 'error',
        (f) => {
          assert.equal(JSON.parse(chatOf(f)!.content).code, 'rate_limited');
          refused++;
          check();
        },
      );
    });
    await done;
    // 2 MiB of burst takes five of them at once; the refill adds what the seconds the server
    // took to read them allow (a few ms on a quiet machine, more under load), and no more.
    const { chatBytesPerSec } = srv.app.config.limits;
    const seconds = (performance.now() - t0) / 1000;
    const allowed = Math.floor(((2 + seconds) * chatBytesPerSec) / file.length);
    assert.ok(delivered >= 5 && delivered <= allowed, `delivered ${delivered} of ${allowed}`);
    assert.ok(refused >= 1, `refused ${refused}`);
    assert.equal(cat.closed, null);
  });
});
