import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeChatMessage,
  encodeChatMessage,
  type ChatMessage,
} from '../src/gateway/dialects/chat-protobuf.ts';
import {
  expectRecordRow,
  startServer,
  type Frame,
  type TestClient,
  type TestServer,
} from './harness.ts';

/**
 * chat-protobuf (`/ws/chat`) end to end over real sockets: the call engine driven by
 * contentType 6 signaling (ringing on every device, first answer wins, reject, cancel, busy,
 * offline, no_answer, records), single and group chat, and chat across dialects.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
interface Signal {
  m: ChatMessage;
  c: Json;
}

const chatOf = (f: Frame): ChatMessage | null =>
  Buffer.isBuffer(f.binary) ? decodeChatMessage(f.binary) : null;

function signalOf(f: Frame): Signal | null {
  const m = chatOf(f);
  return m && m.contentType === 6 ? { m, c: JSON.parse(m.content) as Json } : null;
}

/** The next contentType 6 frame of `type` (and `callId`, if given). */
async function nextSignal(
  c: TestClient,
  type: string,
  callId?: string,
  timeoutMs?: number,
): Promise<Signal> {
  const f = await c.next((f) => {
    const s = signalOf(f);
    return s !== null && s.c.type === type && (callId === undefined || s.c.callId === callId);
  }, timeoutMs);
  return signalOf(f)!;
}

/** The next chat message (content types 1–5). */
async function nextChat(c: TestClient): Promise<ChatMessage> {
  return chatOf(await c.next((f) => (chatOf(f)?.contentType ?? 6) !== 6))!;
}

/** The next error frame; asserts its code (and the request it names). */
async function expectError(c: TestClient, code: string, requestType?: string): Promise<Json> {
  const e = await nextSignal(c, 'error');
  assert.equal(e.m.from, 'system');
  assert.equal(e.m.type, 'error');
  assert.equal(e.c.code, code, JSON.stringify(e.c));
  if (requestType !== undefined) assert.equal(e.c.requestType, requestType);
  return e.c;
}

/** Sends a contentType 6 signal from `from` to `to`, as the spec's clients do. */
function signal(c: TestClient, from: string, to: string, type: string, extra: Json = {}): void {
  c.send(
    encodeChatMessage({
      from,
      to,
      contentType: 6,
      messageType: 1,
      timestamp: Date.now(),
      content: JSON.stringify({ type, from, to, ...extra }),
    }),
  );
}

/** Nothing but frames failing `allowed` arrived within a short wait. */
async function expectNone(c: TestClient, what: (f: Frame) => boolean, label: string) {
  const got = (await c.quiet(120)).filter(what);
  assert.deepEqual(
    got.map((f) => signalOf(f)?.c ?? chatOf(f) ?? f),
    [],
    label,
  );
}

const anyChat = (f: Frame): boolean => (chatOf(f)?.contentType ?? 6) !== 6;
const relayed = (f: Frame): boolean =>
  ['offer', 'answer', 'ice-candidate', 'call-hangup'].includes(signalOf(f)?.c.type as string);

const CANDIDATE = {
  candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

describe('chat-protobuf calls', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('every device rings; the first answer wins; relay is device to device; records', async () => {
    const alice = await srv.connect('alice1', 'chat', 'android');
    const bobIos = await srv.connect('bob1', 'chat', 'ios');
    const bobPc = await srv.connect('bob1', 'chat', 'pc');

    signal(alice, 'alice1', 'bob1', 'call-invite', { fromName: 'Alice' });
    const [ios, pc] = await Promise.all([
      nextSignal(bobIos, 'call-invite'),
      nextSignal(bobPc, 'call-invite'),
    ]);
    const callId = ios.c.callId as string;
    assert.ok(callId);
    assert.equal(pc.c.callId, callId);
    assert.deepEqual(
      { from: ios.m.from, to: ios.m.to, name: ios.m.fromUsername, type: ios.m.messageType },
      // The sender's own message: it set no fromUsername, and its fromName stays.
      { from: 'alice1', to: 'bob1', name: '', type: 1 },
    );
    assert.equal(ios.c.from, 'alice1');
    assert.equal(ios.c.fromName, 'Alice');
    assert.equal(ios.c.to, 'bob1');
    assert.equal(ios.c.media, 'audio', 'a chat-protobuf invite is a voice call by default');
    assert.equal((await nextSignal(alice, 'call-ringing', callId)).c.devices, 2);

    signal(bobPc, 'bob1', 'alice1', 'call-accept');
    const accepted = await nextSignal(alice, 'call-accept', callId);
    assert.equal(accepted.m.from, 'bob1');
    assert.equal(accepted.c.fromClientType, 'pc');
    const handled = await nextSignal(bobIos, 'call-handled', callId);
    assert.equal(handled.c.accepted, true);
    assert.equal(handled.c.fromClientType, 'pc');

    // The other device is too late.
    signal(bobIos, 'bob1', 'alice1', 'call-accept');
    await expectError(bobIos, 'invalid_state', 'call-accept');

    // Offer/answer/ICE go between the caller's device and the answering device only.
    signal(alice, 'alice1', 'bob1', 'offer', { offer: { type: 'offer', sdp: 'v=0 offer' } });
    const offer = await nextSignal(bobPc, 'offer', callId);
    assert.deepEqual(offer.c.offer, { type: 'offer', sdp: 'v=0 offer' });
    assert.equal(offer.m.from, 'alice1');
    signal(bobPc, 'bob1', 'alice1', 'answer', { answer: { type: 'answer', sdp: 'v=0 answer' } });
    const answer = await nextSignal(alice, 'answer', callId);
    assert.deepEqual(answer.c.answer, { type: 'answer', sdp: 'v=0 answer' });
    signal(bobPc, 'bob1', 'alice1', 'ice-candidate', { candidate: CANDIDATE });
    assert.deepEqual((await nextSignal(alice, 'ice-candidate', callId)).c.candidate, CANDIDATE);
    signal(alice, 'alice1', 'bob1', 'ice-candidate', { candidate: null });
    assert.equal((await nextSignal(bobPc, 'ice-candidate', callId)).c.candidate, null);

    signal(alice, 'alice1', 'bob1', 'call-hangup');
    const ended = await nextSignal(bobPc, 'call-hangup', callId);
    assert.deepEqual(
      { reason: ended.c.reason, code: ended.c.code, by: ended.c.by, from: ended.m.from },
      { reason: 'hangup', code: 'hangup', by: 'alice1', from: 'alice1' },
    );
    for (const c of [alice, bobIos, bobPc]) {
      const rec = await nextSignal(c, 'call-record', callId);
      assert.equal(rec.c.status, 'completed');
      assert.equal(rec.c.answeredBy.clientType, 'pc');
    }
    await expectNone(bobIos, relayed, 'the device that lost gets no relay');
    await expectRecordRow(srv, callId, {
      caller: 'alice1',
      callee: 'bob1',
      media: 'audio',
      reason: 'hangup',
      answered: { clientType: 'pc' },
    });
  });

  test('reject, and cancel while ringing', async () => {
    const alice = await srv.connect('alice2', 'chat');
    const bob = await srv.connect('bob2', 'chat');

    signal(alice, 'alice2', 'bob2', 'call-invite', { media: 'video' });
    const inv = await nextSignal(bob, 'call-invite');
    assert.equal(inv.c.media, 'video');
    signal(bob, 'bob2', 'alice2', 'call-reject');
    const rej = await nextSignal(alice, 'call-reject', inv.c.callId as string);
    assert.deepEqual([rej.c.reason, rej.c.code, rej.m.from], ['rejected', 'rejected', 'bob2']);
    await nextSignal(alice, 'call-record', inv.c.callId as string);
    await expectRecordRow(srv, inv.c.callId as string, {
      caller: 'alice2',
      callee: 'bob2',
      media: 'video',
      reason: 'rejected',
      answered: null,
    });

    signal(alice, 'alice2', 'bob2', 'call-invite');
    const inv2 = await nextSignal(bob, 'call-invite');
    signal(alice, 'alice2', 'bob2', 'call-hangup');
    const cancelled = await nextSignal(bob, 'call-hangup', inv2.c.callId as string);
    assert.equal(cancelled.c.reason, 'cancelled');
    await nextSignal(bob, 'call-record', inv2.c.callId as string);
    await expectRecordRow(srv, inv2.c.callId as string, {
      caller: 'alice2',
      callee: 'bob2',
      media: 'audio',
      reason: 'cancelled',
      answered: null,
    });
  });

  test('busy: the callee is in a call → call-failed 用户忙线中', async () => {
    const alice = await srv.connect('alice3', 'chat');
    const bob = await srv.connect('bob3', 'chat');
    const carol = await srv.connect('carol3', 'chat');
    signal(alice, 'alice3', 'bob3', 'call-invite');
    const live = (await nextSignal(bob, 'call-invite')).c.callId as string;
    signal(bob, 'bob3', 'alice3', 'call-accept');
    await nextSignal(alice, 'call-accept', live);

    signal(carol, 'carol3', 'bob3', 'call-invite');
    const failed = await nextSignal(carol, 'call-failed');
    assert.deepEqual(
      { reason: failed.c.reason, code: failed.c.code, from: failed.m.from, to: failed.m.to },
      { reason: '用户忙线中', code: 'busy', from: 'bob3', to: 'carol3' },
    );
    await expectNone(
      bob,
      (f) => signalOf(f)?.c.type === 'call-invite',
      'a busy callee does not ring',
    );
    await expectRecordRow(srv, failed.c.callId as string, {
      caller: 'carol3',
      callee: 'bob3',
      media: 'audio',
      reason: 'busy',
      answered: null,
    });
    signal(bob, 'bob3', 'alice3', 'call-hangup');
    assert.equal((await nextSignal(alice, 'call-hangup', live)).c.reason, 'hangup');
  });

  test('offline: call-failed 用户离线 and a missed record', async () => {
    const alice = await srv.connect('alice4', 'chat');
    signal(alice, 'alice4', 'nobody4', 'call-invite');
    const failed = await nextSignal(alice, 'call-failed');
    assert.deepEqual(
      { reason: failed.c.reason, code: failed.c.code, from: failed.m.from },
      { reason: '用户离线', code: 'offline', from: 'nobody4' },
    );
    const rec = await nextSignal(alice, 'call-record', failed.c.callId as string);
    assert.equal(rec.c.status, 'missed');
    await expectRecordRow(srv, failed.c.callId as string, {
      caller: 'alice4',
      callee: 'nobody4',
      media: 'audio',
      reason: 'offline',
      answered: null,
    });
  });
});

test('no_answer: the invite lifetime ends the call on every device', async () => {
  const srv = await startServer({ calls: { inviteTtlMs: 300 } });
  try {
    const alice = await srv.connect('alice5', 'chat');
    const bobs = [await srv.connect('bob5', 'chat', 'ios'), await srv.connect('bob5', 'chat')];
    signal(alice, 'alice5', 'bob5', 'call-invite');
    const callId = (await nextSignal(bobs[0]!, 'call-invite')).c.callId as string;
    await nextSignal(bobs[1]!, 'call-invite', callId);
    for (const c of [alice, ...bobs]) {
      const end = await nextSignal(c, 'call-hangup', callId, 2000);
      assert.deepEqual([end.c.reason, end.c.code], ['no_answer', 'no_answer']);
    }
    assert.equal((await nextSignal(alice, 'call-record', callId)).c.status, 'missed');
    await expectRecordRow(srv, callId, {
      caller: 'alice5',
      callee: 'bob5',
      media: 'audio',
      reason: 'no_answer',
      answered: null,
    });
  } finally {
    await srv.close();
  }
});

describe('chat-protobuf messages', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  const FILE: Partial<ChatMessage> = {
    avatar: 'https://example.com/a.png',
    fromUsername: '小爱',
    content: 'report.pdf',
    contentType: 2,
    type: 'file',
    messageType: 1,
    url: 'https://example.com/report.pdf',
    fileSuffix: 'pdf',
    file: Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]),
    duration: 0,
  };

  test('single chat: every device of `to` and the sender’s other devices; server timestamp', async () => {
    const a1 = await srv.connect('alice6', 'chat', 'ios');
    const a2 = await srv.connect('alice6', 'chat', 'pc');
    const b1 = await srv.connect('bob6', 'chat', 'android');
    const b2 = await srv.connect('bob6', 'chat', 'web');
    const bNative = await srv.connect('bob6', 'native');

    const before = Date.now();
    a1.send(encodeChatMessage({ ...FILE, from: 'alice6', to: 'bob6', timestamp: 42 }));
    for (const c of [b1, b2, a2]) {
      const { file, timestamp, ...rest } = await nextChat(c);
      const { file: sent, ...fields } = FILE;
      assert.deepEqual(rest, { ...fields, from: 'alice6', to: 'bob6' }, 'every field arrives');
      assert.deepEqual([...file], [...sent!]);
      assert.ok(timestamp >= before && timestamp <= Date.now(), `server stamped ${timestamp}`);
    }
    const native = await bNative.nextType('chat:message');
    assert.equal(native.data.from, 'alice6');
    assert.equal(native.data.message.content, 'report.pdf');
    assert.equal(native.data.message.contentType, 2);
    assert.equal(native.data.message.file, Buffer.from(FILE.file!).toString('base64'));
    await expectNone(a1, anyChat, 'the sending device does not get its own message');

    // A spoofed sender is refused and nothing is delivered.
    a1.send(encodeChatMessage({ ...FILE, from: 'bob6', to: 'bob6' }));
    await expectError(a1, 'forbidden', 'chat');
    await expectNone(b1, anyChat, 'a spoofed message is not delivered');

    // To a user with no device.
    a1.send(encodeChatMessage({ ...FILE, from: 'alice6', to: 'nobody6' }));
    await expectError(a1, 'target_offline', 'chat');
  });

  test('group chat: members of room `to`, joined with room-join', async () => {
    const alice = await srv.connect('alice7', 'chat');
    const bob = await srv.connect('bob7', 'chat');
    const carol = await srv.connect('carol7', 'chat');
    const dave = await srv.connect('dave7', 'native');

    signal(alice, 'alice7', 'room7', 'room-join');
    const joined = await nextSignal(alice, 'room-joined');
    assert.deepEqual(joined.c.members, [{ userId: 'alice7', name: 'ALICE7' }]);
    assert.equal(joined.m.to, 'room7');
    signal(bob, 'bob7', 'room7', 'room-join');
    assert.equal((await nextSignal(bob, 'room-joined')).c.members.length, 2);
    const heard = await nextSignal(alice, 'room-member-joined');
    assert.deepEqual([heard.c.roomId, heard.c.userId, heard.m.messageType], ['room7', 'bob7', 2]);
    assert.equal((await dave.request('room:join', { roomId: 'room7' })).type, 'ok');
    signal(bob, 'bob7', 'room7', 'room-members');
    const members = await nextSignal(bob, 'room-members');
    const ids = (members.c.members as Json[]).map((m) => m.userId as string);
    assert.deepEqual(ids.sort(), ['alice7', 'bob7', 'dave7']);

    const text = (from: string, content: string): Buffer =>
      encodeChatMessage({ from, to: 'room7', contentType: 1, messageType: 2, content });
    alice.send(text('alice7', '大家好'));
    const got = await nextChat(bob);
    assert.deepEqual(
      [got.from, got.to, got.messageType, got.content],
      ['alice7', 'room7', 2, '大家好'],
    );
    const native = await dave.nextType('chat:message');
    assert.deepEqual([native.data.from, native.data.message.messageType], ['alice7', 2]);
    await expectNone(carol, anyChat, 'a non-member gets nothing');
    await expectNone(alice, anyChat, 'the sending device gets nothing');

    carol.send(text('carol7', 'let me in'));
    await expectError(carol, 'not_in_room', 'chat');

    signal(bob, 'bob7', 'room7', 'room-leave');
    assert.equal((await nextSignal(bob, 'room-left')).c.roomId, 'room7');
    assert.equal((await nextSignal(alice, 'room-member-left')).c.userId, 'bob7');
    alice.send(text('alice7', 'bob left'));
    assert.equal((await dave.nextType('chat:message')).data.message.content, 'bob left');
    await expectNone(bob, anyChat, 'a member who left gets nothing');

    signal(bob, 'bob7', 'room7', 'room-leave');
    await expectError(bob, 'not_in_room', 'room-leave');
  });

  test('cross-dialect: native ⇄ chat-protobuf text chat', async () => {
    const erin = await srv.connect('erin8', 'native');
    const frank = await srv.connect('frank8', 'chat');

    const ack = await erin.request('chat:send', {
      to: 'frank8',
      messageType: 1,
      contentType: 1,
      content: 'hi from native',
      fromUsername: 'Erin',
    });
    assert.equal(ack.type, 'ok', JSON.stringify(ack));
    const m = await nextChat(frank);
    assert.deepEqual(
      [m.from, m.to, m.content, m.contentType, m.messageType, m.fromUsername],
      ['erin8', 'frank8', 'hi from native', 1, 1, 'Erin'],
    );
    assert.ok(m.timestamp > 0);

    frank.send(
      encodeChatMessage({
        from: 'frank8',
        to: 'erin8',
        contentType: 1,
        messageType: 1,
        content: 'hi from protobuf',
      }),
    );
    const got = await erin.nextType('chat:message');
    assert.equal(got.data.from, 'frank8');
    assert.equal(got.data.message.content, 'hi from protobuf');
    assert.equal(got.data.message.fromUsername, 'FRANK8', 'the token name when none is given');
    assert.equal(got.data.message.file, '', 'no file: empty base64');
    assert.equal(typeof got.data.timestamp, 'number');
  });
});
