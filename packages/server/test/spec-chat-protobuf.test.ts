import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { quiet, startServer, type Frame, type TestClient, type TestServer } from './harness.ts';

/**
 * specs/chat-protobuf.md, played as its clients do: the clients here encode and decode with the
 * spec's own protobuf definition (copied verbatim below, not the server's copy), and send
 * contentType 6 signals whose `content` is the spec's WebRTCSignal JSON (`type`, `from`,
 * `fromName`, `to`, `offer`, `answer`, `candidate`) with the spec's signal types. A default
 * server (no grants, default limits). What the other client receives must be the sender's
 * message as the spec's forwardMessageToUser forwards it: every field as sent (`timestamp`
 * stamped by the server) and every key of `content`, plus only the keys Parley adds.
 */

// Protobuf定义更新 — verbatim
const SPEC_PROTO = String.raw`syntax = "proto3";

message ChatMessage {
  string avatar = 1;
  string fromUsername = 2;
  string from = 3;
  string to = 4;
  string content = 5;
  int32 contentType = 6; // 1=文字, 2=文件, 3=图片, 4=语音, 5=视频, 6=WebRTC信令
  string type = 7;
  int32 messageType = 8; // 1=单聊, 2=群聊
  string url = 9;
  string fileSuffix = 10;
  bytes file = 11;
  int64 timestamp = 12;
  int32 duration = 13; // 语音消息时长（秒）
}`;

const ChatMessage = protobuf.parse(SPEC_PROTO, { keepCase: true }).root.lookupType('ChatMessage');

interface Message {
  avatar: string;
  fromUsername: string;
  from: string;
  to: string;
  content: string;
  contentType: number;
  type: string;
  messageType: number;
  url: string;
  fileSuffix: string;
  file: Uint8Array;
  timestamp: number;
  duration: number;
}
type Json = Record<string, unknown>;

const encode = (m: Partial<Message>): Buffer => Buffer.from(ChatMessage.encode(m).finish());
const decode = (f: Frame): Message | null =>
  Buffer.isBuffer(f.binary)
    ? (ChatMessage.toObject(ChatMessage.decode(f.binary), {
        longs: Number,
        defaults: true,
      }) as Message)
    : null;
const contentOf = (m: Message): Json => JSON.parse(m.content) as Json;

/** A spec client's contentType 6 message: the app fills every field, as a chat app does. */
function signal(from: string, to: string, content: Json): Message {
  return {
    avatar: `https://cdn.example.com/avatars/${from}.png`,
    fromUsername: `${from} (app name)`,
    from,
    to,
    content: JSON.stringify({ from, to, ...content }),
    contentType: 6,
    type: 'webrtc',
    messageType: 1,
    url: '',
    fileSuffix: '',
    file: new Uint8Array(0),
    timestamp: Date.now(),
    duration: 0,
  };
}

/** The next message on `c` whose content type (signal `type`) is `type`. */
async function next(c: TestClient, type: string): Promise<Message> {
  const f = await c.next((x) => {
    const m = decode(x);
    return m !== null && m.contentType === 6 && contentOf(m).type === type;
  });
  return decode(f)!;
}

/**
 * `got` is `sent` as forwarded: every field equal but `timestamp` (stamped, not older than the
 * send), every key of its content equal, and besides them exactly the keys in `added`.
 */
function expectForwarded(got: Message, sent: Message, added: string[]): Json {
  const { content: gc, timestamp: gt, file: gf, ...gotFields } = got;
  const { content: sc, timestamp: st, file: sf, ...sentFields } = sent;
  assert.deepEqual(gotFields, sentFields, 'every field as the sender set it');
  assert.deepEqual(Buffer.from(gf), Buffer.from(sf), 'file');
  assert.ok(gt >= st, `timestamp stamped by the server (${gt} >= ${st})`);
  const got_ = JSON.parse(gc) as Json;
  const sent_ = JSON.parse(sc) as Json;
  for (const [k, v] of Object.entries(sent_)) assert.deepEqual(got_[k], v, `content.${k}`);
  const extra = Object.keys(got_).filter((k) => !(k in sent_));
  assert.deepEqual(extra.sort(), [...added].sort(), 'keys Parley adds to content');
  return got_;
}

const A = 'user123';
const B = 'user456';
const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n' };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 4611731400430051337 2 IN IP4 127.0.0.1\r\n' };
const CANDIDATE = {
  candidate: 'candidate:1 1 UDP 2130706431 192.168.1.100 54400 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

describe('specs/chat-protobuf.md on a default server', () => {
  let srv: TestServer;
  let clients: TestClient[] = [];
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  async function connect(): Promise<[TestClient, TestClient, TestClient]> {
    const a = await srv.connect(A, 'chat', 'web');
    const b1 = await srv.connect(B, 'chat', 'android');
    const b2 = await srv.connect(B, 'chat', 'ios');
    clients = [a, b1, b2];
    return [a, b1, b2];
  }

  async function finished(): Promise<void> {
    for (const c of clients) await next(c, 'call-record');
    await quiet(...clients);
    for (const c of clients) c.close();
  }

  test('a stateless caller: invite, offer and ICE at once; held until the answer; every message forwarded as sent', async () => {
    const [a, b1, b2] = await connect();

    // The spec's client sends its invite, its offer and its first candidate back to back,
    // with a key of its own in the signal JSON.
    const invite = signal(A, B, { type: 'call-invite', fromName: 'Alice', appVersion: '2.3.1' });
    const offer = signal(A, B, { type: 'offer', offer: OFFER });
    const ice = signal(A, B, { type: 'ice-candidate', candidate: CANDIDATE });
    for (const m of [invite, offer, ice]) a.send(encode(m));

    const rings = await Promise.all([next(b1, 'call-invite'), next(b2, 'call-invite')]);
    const added = ['callId', 'media', 'fromClientType'];
    const first = expectForwarded(rings[0], invite, added);
    expectForwarded(rings[1], invite, added);
    const callId = first.callId as string;
    assert.ok(callId);
    assert.equal(first.media, 'audio');
    assert.equal(first.fromClientType, 'web');
    // Parley's own notice to the caller; the offer and ICE wait for the device that answers.
    assert.equal(contentOf(await next(a, 'call-ringing')).devices, 2);
    await quiet(a, b1, b2);

    const accept = signal(B, A, { type: 'call-accept' });
    b1.send(encode(accept));
    expectForwarded(await next(a, 'call-accept'), accept, ['callId', 'media', 'fromClientType']);
    expectForwarded(await next(b1, 'offer'), offer, ['callId', 'media']);
    expectForwarded(await next(b1, 'ice-candidate'), ice, ['callId', 'media']);
    // The other device stops ringing and sees no signaling.
    assert.equal(contentOf(await next(b2, 'call-handled')).accepted, true);

    const answer = signal(B, A, { type: 'answer', answer: ANSWER });
    const ice2 = signal(B, A, { type: 'ice-candidate', candidate: { ...CANDIDATE, sdpMid: '1' } });
    b1.send(encode(answer));
    b1.send(encode(ice2));
    expectForwarded(await next(a, 'answer'), answer, ['callId', 'media']);
    expectForwarded(await next(a, 'ice-candidate'), ice2, ['callId', 'media']);

    // An app's own signal types are forwarded to `to` like offers are, exactly as sent.
    for (const content of [
      { type: 'mute', muted: true },
      { type: 'switch-camera', facing: 'environment' },
    ]) {
      const own = signal(A, B, content);
      a.send(encode(own));
      for (const c of [b1, b2]) expectForwarded(await next(c, content.type), own, []);
    }
    const busy = signal(B, A, { type: 'busy', reason: 'in another app call' });
    b1.send(encode(busy));
    expectForwarded(await next(a, 'busy'), busy, []);

    const hangup = signal(A, B, { type: 'call-hangup' });
    a.send(encode(hangup));
    const end = expectForwarded(await next(b1, 'call-hangup'), hangup, [
      'callId',
      'media',
      'reason',
      'code',
      'by',
    ]);
    assert.deepEqual([end.callId, end.code, end.by], [callId, 'hangup', A]);
    await finished();
  });

  test('call-reject reaches the caller as the callee sent it', async () => {
    const [a, b1, b2] = await connect();
    a.send(encode(signal(A, B, { type: 'call-invite', fromName: 'Alice' })));
    await Promise.all([next(b1, 'call-invite'), next(b2, 'call-invite')]);
    await next(a, 'call-ringing');

    const reject = signal(B, A, { type: 'call-reject', fromName: 'Bob' });
    b2.send(encode(reject));
    const got = expectForwarded(await next(a, 'call-reject'), reject, [
      'callId',
      'media',
      'reason',
      'code',
      'by',
    ]);
    assert.equal(got.code, 'rejected');
    assert.equal(contentOf(await next(b1, 'call-handled')).accepted, false);
    await finished();
  });

  test('chat beside calls: a text, and an image with its file and an inline avatar of a few hundred KB', async () => {
    const [a, b1, b2] = await connect();
    const base = {
      fromUsername: 'Alice',
      from: A,
      to: B,
      messageType: 1,
      url: '',
      duration: 0,
      timestamp: Date.now(),
    };
    const text = {
      ...base,
      avatar: '',
      content: '你好',
      contentType: 1,
      type: 'text',
      fileSuffix: '',
    };
    const image = {
      ...base,
      avatar: `data:image/png;base64,${Buffer.alloc(180_000, 1).toString('base64')}`,
      content: 'photo.jpg',
      contentType: 3,
      type: 'image',
      fileSuffix: 'jpg',
      file: new Uint8Array(200_000).map((_, i) => i % 256),
    };
    for (const m of [text, image]) {
      a.send(encode(m));
      for (const c of [b1, b2]) {
        const got = decode(await c.next((f) => decode(f)?.contentType === m.contentType))!;
        const { timestamp, file, ...fields } = got;
        const { timestamp: sentAt, file: sentFile, ...sent } = { file: new Uint8Array(0), ...m };
        assert.deepEqual(fields, sent);
        assert.deepEqual(Buffer.from(file), Buffer.from(sentFile));
        assert.ok(timestamp >= sentAt);
      }
    }
    await quiet(...clients);
    for (const c of clients) c.close();
  });
});
