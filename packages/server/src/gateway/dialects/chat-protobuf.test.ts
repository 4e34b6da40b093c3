import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import type { Command, EndReason, ServerEvent } from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import type { Decoded } from '../dialect.ts';
import {
  chatProtobufDialect as dialect,
  decodeChatMessage,
  encodeChatMessage,
  type ChatMessage,
} from './chat-protobuf.ts';

const alice: Sender = {
  userId: 'alice',
  name: 'Alice',
  grants: [],
  deviceId: 'dev-a',
  clientType: 'web',
};
const bob: Sender = { ...alice, userId: 'bob', name: 'Bob', deviceId: 'dev-b' };

const FULL: ChatMessage = {
  avatar: 'https://x/a.png',
  fromUsername: '爱丽丝',
  from: 'alice',
  to: 'bob',
  content: '你好',
  contentType: 3,
  type: 'image',
  messageType: 1,
  url: 'https://x/f.jpg',
  fileSuffix: 'jpg',
  file: new Uint8Array([1, 2, 3, 255]),
  timestamp: 1_717_171_717_171,
  duration: 7,
};

const signal = (type: string, extra: object = {}, m: Partial<ChatMessage> = {}): Buffer =>
  encodeChatMessage({
    from: 'alice',
    to: 'bob',
    contentType: 6,
    messageType: 1,
    content: JSON.stringify({ type, ...extra }),
    ...m,
  });

function command(frame: Buffer, sender: Sender = alice): Command {
  const d = dialect.decode(frame, true, sender);
  assert.ok(d.ok, `expected a command, got ${JSON.stringify(d)}`);
  return d.command;
}

function refused(frame: Buffer, isBinary = true): Extract<Decoded, { ok: false }> {
  const d = dialect.decode(frame, isBinary, alice);
  assert.ok(!d.ok, `expected an error, got ${JSON.stringify(d)}`);
  return d;
}

/** The JSON content of a server signaling frame, with the message around it. */
function content(frame: unknown): { m: ChatMessage; c: Record<string, unknown> } {
  assert.ok(Buffer.isBuffer(frame), 'a binary frame');
  const m = decodeChatMessage(frame);
  assert.equal(m.contentType, 6);
  return { m, c: JSON.parse(m.content) as Record<string, unknown> };
}

test('ChatMessage round-trips every field; int64 timestamp is a number', () => {
  const m = decodeChatMessage(encodeChatMessage(FULL));
  assert.deepEqual({ ...m, file: [...m.file] }, { ...FULL, file: [...FULL.file] });
  assert.equal(typeof m.timestamp, 'number');
  // Unset fields take proto3 defaults.
  const empty = decodeChatMessage(encodeChatMessage({ to: 'x' }));
  assert.equal(empty.from, '');
  assert.equal(empty.timestamp, 0);
  assert.equal(empty.file.length, 0);
});

test('the wire numbers are the spec’s', () => {
  // Field 4 (to) and 6 (contentType) written by hand with protobufjs' Writer.
  const w = protobuf.Writer.create();
  w.uint32((4 << 3) | 2).string('bob');
  w.uint32((6 << 3) | 0).int32(6);
  w.uint32((12 << 3) | 0).int64(1_717_171_717_171);
  const m = decodeChatMessage(w.finish());
  assert.equal(m.to, 'bob');
  assert.equal(m.contentType, 6);
  assert.equal(m.timestamp, 1_717_171_717_171);
});

test('bad bytes are bad_request; unknown fields are ignored', () => {
  const ok = encodeChatMessage(FULL);
  const wrongWire = protobuf.Writer.create();
  wrongWire.uint32((6 << 3) | 2).string('six');
  const unknownField = protobuf.Writer.create();
  unknownField.uint32((99 << 3) | 0).uint32(5);
  unknownField.uint32((4 << 3) | 2).string('bob');
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['truncated', ok.subarray(0, ok.length - 3), /not a valid ChatMessage/],
    ['garbage', Buffer.from('not protobuf at all!'), /not a valid ChatMessage/],
    ['varint overflow', Buffer.alloc(12, 0xff), /not a valid ChatMessage/],
    ['wrong wire type', wrongWire.finish(), /contentType \(6\) has the wrong wire type/],
  ];
  for (const [name, bytes, message] of cases) {
    assert.throws(
      () => decodeChatMessage(bytes),
      (err: { code?: string; message?: string }) =>
        err.code === 'bad_request' && message.test(err.message ?? ''),
      name,
    );
  }
  assert.equal(decodeChatMessage(unknownField.finish()).to, 'bob');
});

test('decode: contentType 6 signals map to canonical commands', () => {
  const sdp = 'v=0\r\n';
  const cand = { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host', sdpMid: '0' };
  const cases: Array<[string, Buffer, Command, Sender?]> = [
    [
      'invite defaults to audio',
      signal('call-invite', { from: 'alice', fromName: 'Alice', to: 'bob' }),
      { type: 'call:invite', callee: 'bob', media: 'audio', keepCalling: false },
    ],
    [
      'invite with media and keepCalling',
      signal('call-invite', { media: 'video', keepCalling: true }),
      { type: 'call:invite', callee: 'bob', media: 'video', keepCalling: true },
    ],
    [
      'accept: the call from `to` to the sender',
      signal('call-accept', {}, { from: 'bob', to: 'alice' }),
      { type: 'call:accept', call: { caller: 'alice', callee: 'bob' } },
      bob,
    ],
    [
      'reject by callId',
      signal('call-reject', { callId: 'n.1' }, { from: 'bob', to: 'alice' }),
      { type: 'call:reject', call: { callId: 'n.1' } },
      bob,
    ],
    [
      'hangup names the peer',
      signal('call-hangup', { reason: '挂断' }),
      { type: 'call:hangup', call: { peer: 'bob' } },
    ],
    [
      'hangup no_answer',
      signal('call-hangup', { reason: 'no_answer' }),
      { type: 'call:hangup', call: { peer: 'bob' }, reason: 'no_answer' },
    ],
    [
      'offer',
      signal('offer', { offer: { type: 'offer', sdp } }),
      { type: 'call:offer', call: { peer: 'bob' }, sdp },
    ],
    [
      'answer',
      signal('answer', { answer: { type: 'answer', sdp } }),
      { type: 'call:answer', call: { peer: 'bob' }, sdp },
    ],
    [
      'ice',
      signal('ice-candidate', { candidate: cand }),
      { type: 'call:ice', call: { peer: 'bob' }, candidate: cand },
    ],
    [
      'end-of-candidates',
      signal('ice-candidate', { candidate: null }),
      { type: 'call:ice', call: { peer: 'bob' }, candidate: null },
    ],
    [
      'room-join',
      signal('room-join', {}, { to: 'room1', messageType: 2 }),
      { type: 'room:join', roomId: 'room1' },
    ],
    [
      'room-leave',
      signal('room-leave', {}, { to: 'room1' }),
      { type: 'room:leave', roomId: 'room1' },
    ],
  ];
  cases.push([
    'room-members',
    signal('room-members', {}, { to: 'room1' }),
    { type: 'room:members', roomId: 'room1' },
  ]);
  for (const [name, frame, want, sender] of cases) {
    // The sender's message rides along (`origin`); see the forwarding tests.
    assert.deepEqual(
      { ...command(frame, sender), origin: undefined },
      { ...want, origin: undefined },
      name,
    );
  }
});

test('decode: a signal type Parley does not know is the app’s own, forwarded as sent', () => {
  for (const type of ['mute', 'busy', 'switch-camera', 'constructor', 'toString']) {
    const frame = encodeChatMessage({
      avatar: 'https://cdn.example/a.png',
      fromUsername: 'Alice',
      from: 'alice',
      to: 'bob',
      contentType: 6,
      type: 'app',
      messageType: 1,
      content: JSON.stringify({ type, muted: true, nested: { a: [1] } }),
    });
    assert.deepEqual(command(frame), {
      type: 'chat:signal',
      to: 'bob',
      origin: {
        avatar: 'https://cdn.example/a.png',
        fromUsername: 'Alice',
        type: 'app',
        messageType: 1,
        url: '',
        fileSuffix: '',
        duration: 0,
        content: { type, muted: true, nested: { a: [1] } },
      },
    });
  }
  assert.equal(refused(signal('mute', {}, { to: 'alice' })).error.code, 'bad_request');
});

test('results: the room extensions are acknowledged, nothing else is', () => {
  const joined = dialect.encodeResult(
    { ok: true, command: { type: 'room:join', roomId: 'r1' } },
    { roomId: 'r1', members: [{ userId: 'alice', name: 'Alice' }] },
    alice,
  );
  const { m, c } = content(joined);
  assert.deepEqual([m.from, m.to, m.messageType], ['system', 'r1', 2]);
  assert.deepEqual(c, {
    type: 'room-joined',
    roomId: 'r1',
    members: [{ userId: 'alice', name: 'Alice' }],
  });
  const left = content(
    dialect.encodeResult(
      { ok: true, command: { type: 'room:leave', roomId: 'r1' } },
      { roomId: 'r1' },
      alice,
    ),
  );
  assert.deepEqual(left.c, { type: 'room-left', roomId: 'r1' });
  const invite: Command = {
    type: 'call:invite',
    callee: 'bob',
    media: 'audio',
    keepCalling: false,
  };
  assert.equal(dialect.encodeResult({ ok: true, command: invite }, { callId: 'n.1' }, alice), null);
});

test('decode: content types 1–5 are chat:send with every field', () => {
  assert.deepEqual(command(encodeChatMessage(FULL)), {
    type: 'chat:send',
    message: {
      to: 'bob',
      messageType: 1,
      contentType: 3,
      content: '你好',
      kind: 'image',
      avatar: FULL.avatar,
      fromUsername: '爱丽丝',
      url: FULL.url,
      fileSuffix: 'jpg',
      file: Buffer.from(FULL.file),
      duration: 7,
    },
  });
  // No fromUsername: the token's name.
  const c = command(encodeChatMessage({ ...FULL, fromUsername: '' }));
  assert.equal(c.type === 'chat:send' && c.message.fromUsername, 'Alice');
});

test('decode: refusals carry the canonical code', () => {
  const cases: Array<[string, Buffer, boolean, string, RegExp?]> = [
    ['text frame', Buffer.from('{"type":"x"}'), false, 'bad_request', /text frames/],
    ['spoofed from', signal('call-invite', {}, { from: 'mallory' }), true, 'forbidden'],
    ['spoofed content.from', signal('offer', { from: 'mallory' }), true, 'forbidden'],
    ['content.to differs', signal('offer', { to: 'carol' }), true, 'bad_request', /content\.to/],
    ['missing to', signal('call-invite', {}, { to: '' }), true, 'bad_request', /\/to/],
    ['missing from', signal('call-invite', {}, { from: '' }), true, 'bad_request', /\/from/],
    [
      'content not JSON',
      encodeChatMessage({ from: 'alice', to: 'bob', contentType: 6, content: 'hi' }),
      true,
      'bad_request',
      /must be JSON/,
    ],
    [
      'content JSON without type',
      encodeChatMessage({ from: 'alice', to: 'bob', contentType: 6, content: '[1]' }),
      true,
      'bad_request',
    ],
    ['offer without sdp', signal('offer', { offer: { type: 'offer' } }), true, 'bad_request'],
    [
      'answer typed offer',
      signal('answer', { answer: { type: 'offer', sdp: 'v=0' } }),
      true,
      'bad_request',
    ],
    ['ice without candidate', signal('ice-candidate'), true, 'bad_request', /candidate/],
    ['bad media', signal('call-invite', { media: 'hologram' }), true, 'bad_request', /media/],
    [
      'chat without messageType',
      encodeChatMessage({ ...FULL, messageType: 0 }),
      true,
      'bad_request',
      /messageType/,
    ],
    ['contentType 7', encodeChatMessage({ ...FULL, contentType: 7 }), true, 'bad_request'],
    ['contentType 0', encodeChatMessage({ ...FULL, contentType: 0 }), true, 'bad_request'],
  ];
  for (const [name, frame, isBinary, code, message] of cases) {
    const d = refused(frame, isBinary);
    assert.equal(d.error.code, code, name);
    if (message) assert.match(d.error.message, message, name);
  }
  assert.equal(refused(signal('offer', { offer: {} })).context, 'offer');
});

const base = { callId: 'n.1', caller: 'alice', callee: 'bob', media: 'audio' as const };
const devA = { userId: 'alice', deviceId: 'dev-a', clientType: 'web' };
const devB = { userId: 'bob', deviceId: 'dev-b', clientType: 'ios' };

test('encode: call events become contentType 6 frames from the other party', () => {
  const cases: Array<[ServerEvent, Sender, string, Record<string, unknown>]> = [
    [
      { type: 'call:incoming', ...base, callerName: 'Alice', callerDevice: devA },
      bob,
      'call-invite',
      { from: 'alice', fromName: 'Alice', to: 'bob', media: 'audio', fromClientType: 'web' },
    ],
    [{ type: 'call:ringing', ...base, devices: 2 }, alice, 'call-ringing', { devices: 2 }],
    [
      { type: 'call:accepted', ...base, by: devB },
      alice,
      'call-accept',
      { from: 'bob', to: 'alice', fromClientType: 'ios' },
    ],
    [
      {
        type: 'call:answered_elsewhere',
        ...base,
        accepted: true,
        by: devB,
        fromClientType: 'ios',
        timetag: 5,
      },
      bob,
      'call-handled',
      { from: 'alice', accepted: true, fromClientType: 'ios', timetag: 5 },
    ],
    [
      { type: 'call:offer', ...base, from: 'alice', sdp: 'v=0' },
      bob,
      'offer',
      { from: 'alice', offer: { type: 'offer', sdp: 'v=0' } },
    ],
    [
      { type: 'call:answer', ...base, from: 'bob', sdp: 'v=1' },
      alice,
      'answer',
      { from: 'bob', answer: { type: 'answer', sdp: 'v=1' } },
    ],
    [
      { type: 'call:ice', ...base, from: 'bob', candidate: null },
      alice,
      'ice-candidate',
      { candidate: null },
    ],
  ];
  for (const [event, to, type, want] of cases) {
    const { m, c } = content(dialect.encodeEvent(event, to));
    assert.equal(c.type, type);
    assert.equal(m.type, type);
    assert.equal(c.callId, 'n.1', `${type} carries callId`);
    assert.equal(m.to, to.userId);
    assert.equal(m.from, to.userId === 'alice' ? 'bob' : 'alice');
    assert.equal(m.messageType, 1);
    assert.ok(m.timestamp > 0);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(c[k], v, `${type}.${k}`);
  }
  const { m } = content(
    dialect.encodeEvent(
      { type: 'call:incoming', ...base, callerName: 'Alice', callerDevice: devA },
      bob,
    ),
  );
  assert.equal(m.fromUsername, 'Alice');
});

test('encode: every end reason has a spec type, reason and code', () => {
  const want: Record<EndReason, [string, string]> = {
    rejected: ['call-reject', 'rejected'],
    busy: ['call-failed', '用户忙线中'],
    offline: ['call-failed', '用户离线'],
    no_answer: ['call-hangup', 'no_answer'],
    cancelled: ['call-hangup', 'cancelled'],
    hangup: ['call-hangup', 'hangup'],
    disconnected: ['call-hangup', 'disconnected'],
    failed: ['call-hangup', 'failed'],
    shutdown: ['call-hangup', 'shutdown'],
    node_lost: ['call-hangup', 'node_lost'],
    node_restart: ['call-hangup', 'node_restart'],
    admin: ['call-hangup', 'admin'],
  };
  for (const [reason, [type, text]] of Object.entries(want) as Array<[EndReason, string[]]>) {
    const { c } = content(
      dialect.encodeEvent({ type: 'call:ended', ...base, reason, by: null }, alice),
    );
    assert.deepEqual(
      { type: c.type, reason: c.reason, code: c.code, callId: c.callId },
      { type, reason: text, code: reason, callId: 'n.1' },
    );
  }
});

test('encode: chat:message carries every field; room signals are not shown', () => {
  const { from, timestamp, ...rest } = FULL;
  const frame = dialect.encodeEvent(
    {
      type: 'chat:message',
      from,
      timestamp,
      message: { ...rest, kind: rest.type, messageType: 1 },
    },
    bob,
  );
  assert.ok(Buffer.isBuffer(frame));
  const m = decodeChatMessage(frame);
  assert.deepEqual({ ...m, file: [...m.file] }, { ...FULL, file: [...FULL.file] });
  assert.equal(
    dialect.encodeEvent(
      { type: 'room:signal', kind: 'offer', from: 'a', to: 'b', payload: {} },
      bob,
    ),
    null,
  );
});

test('encode: call record and error frames', () => {
  const record = {
    callId: 'n.1',
    caller: 'alice',
    callee: 'bob',
    media: 'audio' as const,
    status: 'completed' as const,
    reason: 'hangup' as const,
    createdAt: '2024-01-01T00:00:00.000Z',
    startedAt: '2024-01-01T00:00:01.000Z',
    endedAt: '2024-01-01T00:00:05.000Z',
    duration: 4,
    ringMs: 1000,
    answeredBy: { deviceId: 'dev-b', clientType: 'ios' },
    mediaConnectedAt: '2024-01-01T00:00:01.500Z',
    mediaFailedReason: null,
  };
  const { m, c } = content(dialect.encodeEvent({ type: 'call:record', record }, bob));
  assert.equal(m.from, 'alice');
  assert.deepEqual(c, { type: 'call-record', from: 'alice', to: 'bob', ...record });

  const err = content(
    dialect.encodeError({ code: 'not_found', message: 'call not found' }, undefined, 'offer'),
  );
  assert.equal(err.m.from, 'system');
  assert.equal(err.m.type, 'error');
  assert.deepEqual(err.c, {
    type: 'error',
    code: 'not_found',
    message: 'call not found',
    requestType: 'offer',
  });
});

test('encode: a forwarded message keeps every field and content key; the vouched keys are Parley’s', () => {
  const origin = {
    avatar: 'data:image/png;base64,AAAA',
    fromUsername: 'Ali',
    type: 'webrtc',
    messageType: 1,
    url: 'https://example.com/u/alice',
    fileSuffix: '',
    file: Buffer.from([1, 2, 3]).toString('base64'),
    duration: 0,
    content: {
      type: 'call-invite',
      from: 'alice',
      to: 'bob',
      fromName: 'Ali',
      callId: 'fake',
      x: [1],
    },
  };
  const { m, c } = content(
    dialect.encodeEvent(
      { type: 'call:incoming', ...base, callerName: 'Alice', callerDevice: devA, origin },
      bob,
    ),
  );
  assert.deepEqual(
    [m.avatar, m.fromUsername, m.type, m.url, [...m.file], m.from, m.to, m.contentType],
    [origin.avatar, 'Ali', 'webrtc', origin.url, [1, 2, 3], 'alice', 'bob', 6],
  );
  assert.deepEqual(c, {
    ...origin.content,
    callId: base.callId,
    media: 'audio',
    fromClientType: 'web',
  });
  // An origin of another kind (a glare invite that became an accept) is not forwarded as is.
  const accepted = content(
    dialect.encodeEvent({ type: 'call:accepted', ...base, by: devB, origin }, alice),
  );
  assert.equal(accepted.c.type, 'call-accept');
  assert.equal(accepted.m.avatar, '');
});
