import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type ErrorBody, type ServerEvent } from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import type { Decoded } from '../dialect.ts';
import { roomDialect } from './room.ts';

const alice: Sender = {
  userId: 'alice',
  name: 'Alice',
  grants: ['voice'],
  deviceId: 'd1',
  clientType: 'web',
};

const text = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const decode = (v: unknown): Decoded => roomDialect.decode(text(v), false, alice);
const parse = (frame: string | Buffer | null): unknown =>
  frame === null ? null : JSON.parse(frame.toString());

const req = (cmd: string, data: unknown) => ({
  requestId: 'webrtc_1_a',
  module: 'ROOM',
  cmd,
  code: 200,
  msg: 'success',
  data,
});

test('WEBRTC_* decode to room:signal with the requestId', () => {
  const kinds = { WEBRTC_OFFER: 'offer', WEBRTC_ANSWER: 'answer', WEBRTC_ICE_CANDIDATE: 'ice' };
  for (const [cmd, kind] of Object.entries(kinds)) {
    const d = decode(req(cmd, { from: 'alice', to: 'bob', data: { x: 1 } }));
    assert.deepEqual(d, {
      ok: true,
      command: { type: 'room:signal', kind, to: 'bob', payload: { x: 1 }, requestId: 'webrtc_1_a' },
      requestId: 'webrtc_1_a',
      context: cmd,
    });
  }
});

test('room commands decode; code and msg of a request are ignored', () => {
  for (const [cmd, type] of [
    ['JOIN_ROOM', 'room:join'],
    ['LEAVE_ROOM', 'room:leave'],
    ['ROOM_MEMBERS', 'room:members'],
  ]) {
    const d = decode({ requestId: 'r', module: 'ROOM', cmd, data: { roomId: 'r1' } });
    assert.deepEqual(d, {
      ok: true,
      command: { type, roomId: 'r1' },
      requestId: 'r',
      context: cmd,
    });
  }
});

test('decode never throws', () => {
  for (const bad of ['', '{', '[]', '1', 'null', '{"requestId":{}}', '{"cmd":[]}']) {
    const d = roomDialect.decode(Buffer.from(bad), false, alice);
    assert.equal(d.ok, false, bad);
  }
  assert.equal(roomDialect.decode(Buffer.from([0xff, 0x00]), true, alice).ok, false);
});

test('events: member notifications and signals; calls and chat are not shown', () => {
  const joined = parse(
    roomDialect.encodeEvent(
      { type: 'room:member_joined', roomId: 'r1', userId: 'bob', name: 'Bob' },
      alice,
    ),
  ) as Record<string, unknown>;
  assert.match(joined.requestId as string, /^srv_[0-9a-f-]{36}$/);
  assert.deepEqual(
    { ...joined, requestId: 'x' },
    {
      requestId: 'x',
      module: 'ROOM',
      cmd: 'MEMBER_JOINED',
      code: 200,
      msg: 'success',
      data: { roomId: 'r1', userId: 'bob', name: 'Bob' },
    },
  );

  const sig: ServerEvent = {
    type: 'room:signal',
    kind: 'ice',
    from: 'bob',
    to: 'alice',
    payload: null,
    requestId: 'webrtc_2_b',
  };
  assert.deepEqual(parse(roomDialect.encodeEvent(sig, alice)), {
    requestId: 'webrtc_2_b',
    module: 'ROOM',
    cmd: 'WEBRTC_ICE_CANDIDATE',
    code: 200,
    msg: 'success',
    data: { from: 'bob', to: 'alice', data: null },
  });
  const noId: ServerEvent = { ...sig };
  delete noId.requestId;
  const generated = parse(roomDialect.encodeEvent(noId, alice)) as { requestId: string };
  assert.match(generated.requestId, /^srv_/);

  const hidden: ServerEvent[] = [
    {
      type: 'call:ended',
      callId: 'c',
      caller: 'a',
      callee: 'b',
      media: 'audio',
      reason: 'hangup',
      by: null,
    },
    {
      type: 'chat:message',
      from: 'bob',
      timestamp: 1,
      message: {
        to: 'alice',
        messageType: 1,
        contentType: 1,
        content: 'hi',
        kind: '',
        avatar: '',
        fromUsername: '',
        url: '',
        fileSuffix: '',
        file: new Uint8Array(),
        duration: 0,
      },
    },
  ];
  for (const e of hidden) assert.equal(roomDialect.encodeEvent(e, alice), null, e.type);
});

test('results: room commands are answered, WEBRTC_* are not', () => {
  const join = decode(req('JOIN_ROOM', { roomId: 'r1' }));
  assert.ok(join.ok);
  const view = { roomId: 'r1', members: [{ userId: 'alice', name: 'Alice' }] };
  assert.deepEqual(parse(roomDialect.encodeResult(join, view, alice)), {
    requestId: 'webrtc_1_a',
    module: 'ROOM',
    cmd: 'JOIN_ROOM',
    code: 200,
    msg: 'success',
    data: view,
  });
  const leave = decode(req('LEAVE_ROOM', { roomId: 'r1' }));
  assert.ok(leave.ok);
  assert.deepEqual(
    (parse(roomDialect.encodeResult(leave, { roomId: 'r1' }, alice)) as Record<string, unknown>)
      .data,
    {
      roomId: 'r1',
    },
  );
  const offer = decode(req('WEBRTC_OFFER', { from: 'alice', to: 'bob', data: {} }));
  assert.ok(offer.ok);
  assert.equal(roomDialect.encodeResult(offer, undefined, alice), null);
});

test('errors: the spec codes and messages', () => {
  const cases: Array<[ErrorBody, string | undefined, number, string]> = [
    [AppError.notInRoom().toBody(), 'WEBRTC_OFFER', 1000, '用户不在同一房间内'],
    [AppError.notInRoom().toBody(), 'ROOM_MEMBERS', 1000, '用户不在该房间内'],
    [AppError.targetOffline('bob').toBody(), 'WEBRTC_OFFER', 1000, '目标用户不在线'],
    [AppError.noConnection().toBody(), 'WEBRTC_ANSWER', 1000, '没有对应的连接请求'],
    [AppError.noConnection().toBody(), 'WEBRTC_ICE_CANDIDATE', 1000, '没有对应的连接请求'],
    [AppError.forbidden('lacks grant').toBody(), 'WEBRTC_OFFER', 1000, '无权限发起语音连接'],
    [AppError.internal().toBody(), 'WEBRTC_OFFER', 500, '服务器内部错误'],
    [AppError.rateLimited().toBody(), undefined, 1000, '请求过于频繁，请稍后再试'],
    [
      AppError.frameTooLarge(3000, 2048).toBody(),
      undefined,
      400,
      '请求格式错误：消息过大（3000 字节，上限 2048 字节）',
    ],
  ];
  for (const [body, cmd, code, msg] of cases) {
    const f = parse(roomDialect.encodeError(body, cmd && 'rid', cmd));
    assert.deepEqual(
      f,
      cmd
        ? { requestId: 'rid', module: 'ROOM', cmd, code, msg, data: null }
        : { module: 'ROOM', cmd: null, code, msg, data: null },
      body.code,
    );
  }
});
