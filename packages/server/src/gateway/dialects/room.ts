import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  AppError,
  assertBoundedValue,
  ErrorCode,
  MAX_VALUE_DEPTH,
  type Command,
  type ErrorBody,
  type RoomSignalKind,
  type ServerEvent,
} from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import type { Decoded, Dialect, WireFrame } from '../dialect.ts';
import { failureMessage, parseJson, peekMembers } from '../json.ts';
import { Id } from './fields.ts';

/**
 * ROOM cmd on `/ws/room`, exactly as specs/room-webrtc-cmd.md: every frame is
 * `{requestId, module:"ROOM", cmd, code, msg, data}`. WEBRTC_OFFER / WEBRTC_ANSWER /
 * WEBRTC_ICE_CANDIDATE carry `data:{from, to, data}` and are forwarded to `to` unchanged (the
 * sender's requestId intact); `from` must be the authenticated user. Parley adds JOIN_ROOM,
 * LEAVE_ROOM, ROOM_MEMBERS and the MEMBER_JOINED / MEMBER_LEFT notifications (docs/protocol.md).
 * Successful WEBRTC_* are not acknowledged: the spec has no ack, and an ack would have the very
 * shape of an incoming signal.
 */

const MODULE = 'ROOM';

/** A ROOM requestId as we accept and echo it. */
const RequestId = Type.String({ minLength: 1, maxLength: 128 });
const checkRequestId = TypeCompiler.Compile(RequestId);

/** The envelope; `code` and `msg` of a request are ignored (clients send 200 / "success"). */
const Envelope = Type.Object({
  requestId: RequestId,
  module: Type.Literal(MODULE),
  cmd: Type.String({ minLength: 1, maxLength: 64 }),
  code: Type.Optional(Type.Unknown()),
  msg: Type.Optional(Type.Unknown()),
  data: Type.Optional(Type.Unknown()),
});

/** What each envelope field must be, said the way a ROOM client reads errors. */
const ENVELOPE_MSG: Record<string, string> = {
  '/requestId': 'requestId缺失或无效（须为1-128个字符的字符串）',
  '/module': 'module必须为"ROOM"',
  '/cmd': 'cmd缺失或无效',
};

/**
 * A compiled validator whose bad_request names the offending field in ROOM terms
 * (`data.to`), so the 400 says what to fix.
 */
function validator<T extends TSchema>(schema: T, root: string): (value: unknown) => Static<T> {
  const check = TypeCompiler.Compile(schema);
  return (value) => {
    if (check.Check(value)) return value;
    const first = check.Errors(value).First();
    const path = first?.path ?? '';
    const field = [root, ...path.split('/').filter(Boolean)].join('.');
    if (root === '' && ENVELOPE_MSG[path]) {
      throw AppError.badRequest(`请求格式错误：${ENVELOPE_MSG[path]}`, { field });
    }
    throw AppError.badRequest(
      first?.value === undefined
        ? `请求格式错误：缺少字段 ${field}`
        : `请求格式错误：字段 ${field} 无效（${failureMessage(first)}）`,
      { field },
    );
  };
}

const envelope = validator(Envelope, '');

const Signal = Type.Object({ from: Id, to: Id, data: Type.Unknown() });
const Room = Type.Object({ roomId: Id });

/** What a ROOM cmd becomes, and how its successful result is shown (null: no ack). */
interface CmdSpec {
  decode: (data: unknown, sender: Sender, requestId: string) => Command;
  result: ((result: unknown) => unknown) | null;
}

const SIGNAL_CMD = {
  offer: 'WEBRTC_OFFER',
  answer: 'WEBRTC_ANSWER',
  ice: 'WEBRTC_ICE_CANDIDATE',
} as const satisfies Record<RoomSignalKind, string>;

function signal(kind: RoomSignalKind): CmdSpec {
  const check = validator(Signal, 'data');
  return {
    decode(data, sender, requestId) {
      const x = check(data);
      if (x.from !== sender.userId) {
        throw new AppError(ErrorCode.Forbidden, '发送方与登录用户不一致', { field: 'data.from' });
      }
      if (x.to === x.from) {
        throw AppError.badRequest('请求格式错误：接收方不能是发送方自己', { field: 'data.to' });
      }
      return { type: 'room:signal', kind, to: x.to, payload: x.data, requestId };
    },
    result: null,
  };
}

/** A RoomView (or `{roomId}`) as the ROOM client receives it. */
interface View {
  roomId: string;
  members?: Array<{ userId: string; name: string }>;
}
const view = (r: unknown): unknown => {
  const v = r as View;
  return v.members
    ? { roomId: v.roomId, members: v.members.map((m) => ({ userId: m.userId, name: m.name })) }
    : { roomId: v.roomId };
};

function room(type: 'room:join' | 'room:leave' | 'room:members'): CmdSpec {
  const check = validator(Room, 'data');
  return { decode: (data) => ({ type, roomId: check(data).roomId }), result: view };
}

const CMDS: Readonly<Record<string, CmdSpec>> = {
  [SIGNAL_CMD.offer]: signal('offer'),
  [SIGNAL_CMD.answer]: signal('answer'),
  [SIGNAL_CMD.ice]: signal('ice'),
  JOIN_ROOM: room('room:join'),
  LEAVE_ROOM: room('room:leave'),
  ROOM_MEMBERS: room('room:members'),
};

const isSignalCmd = (cmd: string | undefined): boolean =>
  cmd === SIGNAL_CMD.offer || cmd === SIGNAL_CMD.answer || cmd === SIGNAL_CMD.ice;

/** The spec's code and message for each canonical error. */
function toRoomError(e: ErrorBody, cmd: string | undefined): { code: number; msg: string } {
  switch (e.code) {
    case 'bad_request':
    case 'unknown_type':
      return { code: 400, msg: e.message };
    case 'frame_too_large':
      return {
        code: 400,
        msg: `请求格式错误：消息过大（${String(e.details?.size)} 字节，上限 ${String(e.details?.limit)} 字节）`,
      };
    case 'rate_limited':
      // 1000 is the spec's code for a well-formed request that a server rule refuses (not in
      // the room, offline); 400 would tell the client its frame is wrong, 500 that we failed.
      return { code: 1000, msg: '请求过于频繁，请稍后再试' };
    case 'limit_exceeded':
      return {
        code: 1000,
        msg: `已达上限（${String(e.details?.limit)}：${String(e.details?.max)}）`,
      };
    case 'not_in_room':
      return { code: 1000, msg: isSignalCmd(cmd) ? '用户不在同一房间内' : '用户不在该房间内' };
    case 'target_offline':
      return { code: 1000, msg: '目标用户不在线' };
    case 'no_connection':
      return { code: 1000, msg: '没有对应的连接请求' };
    case 'forbidden':
      if (e.details?.field === 'data.from') return { code: 1000, msg: '发送方与登录用户不一致' };
      return {
        code: 1000,
        msg: cmd === SIGNAL_CMD.offer ? '无权限发起语音连接' : '无权限执行该操作',
      };
    case 'unavailable':
      return { code: 500, msg: '服务器正在关闭，请稍后重连' };
    case 'internal':
      return { code: 500, msg: '服务器内部错误' };
    default:
      // Call-engine codes never come from ROOM commands; keep them readable if they ever do.
      return { code: 1000, msg: e.message };
  }
}

/** A server-originated requestId (notifications, signals from dialects without one). */
const serverRequestId = (): string => `srv_${randomUUID()}`;

const frame = (requestId: string, cmd: string, data: unknown): string =>
  JSON.stringify({ requestId, module: MODULE, cmd, code: 200, msg: 'success', data });

const MEMBER_CMD = {
  'room:member_joined': 'MEMBER_JOINED',
  'room:member_left': 'MEMBER_LEFT',
} as const;

/** What a frame's error can echo: its requestId and cmd, as far as they could be read. */
interface Seen {
  requestId?: string;
  cmd?: string;
}

/** The loosely read requestId and cmd of a parsed frame, to echo them even when it is malformed. */
function peek(value: unknown): Seen {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const v = value as Record<string, unknown>;
  const out: Seen = {};
  if (checkRequestId.Check(v.requestId)) out.requestId = v.requestId;
  if (typeof v.cmd === 'string' && v.cmd.length > 0 && v.cmd.length <= 64) out.cmd = v.cmd;
  return out;
}

/**
 * The requestId and cmd of a frame that was not parsed (JSON.parse refused it: truncated, a
 * stray token, sent as binary; or it was refused unread: too large), read from its first
 * members: the spec's frames put both before `data`, so a client still learns which request
 * failed. The first occurrence of each wins.
 */
function scan(data: Buffer): Seen {
  return peek(peekMembers(data, ['requestId', 'cmd']));
}

/** The ROOM dialect (stateless; one instance serves every connection). */
export const roomDialect: Dialect = {
  name: 'room',

  decode(data, isBinary, sender): Decoded {
    let seen: Seen = {};
    try {
      let value: unknown;
      try {
        value = parseJson(data, isBinary);
      } catch {
        seen = scan(data);
        throw AppError.badRequest(
          isBinary
            ? '请求格式错误：不接受二进制帧，请发送JSON文本'
            : '请求格式错误：不是合法的JSON',
        );
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw AppError.badRequest('请求格式错误：消息必须是JSON对象');
      }
      seen = peek(value);
      try {
        assertBoundedValue(value);
      } catch {
        // The only bound without a size: too deep, said the ROOM way.
        throw AppError.badRequest(`请求格式错误：JSON嵌套超过${MAX_VALUE_DEPTH}层`, {
          limit: MAX_VALUE_DEPTH,
        });
      }
      const env = envelope(value);
      const spec = Object.hasOwn(CMDS, env.cmd) ? CMDS[env.cmd] : undefined;
      if (!spec) {
        throw new AppError(ErrorCode.UnknownType, `请求格式错误：未知的cmd "${env.cmd}"`, {
          type: env.cmd,
        });
      }
      const command = spec.decode(env.data, sender, env.requestId);
      return { ok: true, command, requestId: env.requestId, context: env.cmd };
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.badRequest('请求格式错误');
      return {
        ok: false,
        error,
        ...(seen.requestId === undefined ? {} : { requestId: seen.requestId }),
        ...(seen.cmd === undefined ? {} : { context: seen.cmd }),
      };
    }
  },

  peek(data) {
    const { requestId, cmd } = scan(data);
    return { requestId, context: cmd };
  },

  encodeEvent(e: ServerEvent): WireFrame | null {
    switch (e.type) {
      case 'room:member_joined':
      case 'room:member_left':
        return frame(serverRequestId(), MEMBER_CMD[e.type], {
          roomId: e.roomId,
          userId: e.userId,
          name: e.name,
        });
      case 'room:signal':
        return frame(e.requestId ?? serverRequestId(), SIGNAL_CMD[e.kind], {
          from: e.from,
          to: e.to,
          data: e.payload,
        });
      default:
        // Calls and chat have no ROOM shape.
        return null;
    }
  },

  encodeResult(decoded, result): WireFrame | null {
    const cmd = decoded.context;
    const spec = cmd !== undefined && Object.hasOwn(CMDS, cmd) ? CMDS[cmd] : undefined;
    if (!spec?.result || cmd === undefined || decoded.requestId === undefined) return null;
    return frame(decoded.requestId, cmd, spec.result(result));
  },

  encodeError(error: ErrorBody, requestId?: string, context?: string): WireFrame {
    const { code, msg } = toRoomError(error, context);
    return JSON.stringify({
      ...(requestId === undefined ? {} : { requestId }),
      module: MODULE,
      cmd: context ?? null,
      code,
      msg,
      data: null,
    });
  },
};
