import { Type } from '@sinclair/typebox';
import {
  AppError,
  assertBoundedValue,
  sdpJson,
  type Command,
  type ErrorBody,
  type ServerEvent,
  type SessionReady,
} from '@parley/protocol';
import type { Decoded, Dialect, WireFrame } from '../dialect.ts';
import {
  decoder,
  jsonText,
  keepLiterals,
  parseText,
  peekMembers,
  validator,
  withLiteral,
} from '../json.ts';
import { Candidate, Id, SdpText } from './fields.ts';
import { IceFrames } from './ice-frame.ts';
import { rtcDecoders } from './meeting.ts';
import { canonicalIce } from './native-ice.ts';

/**
 * Native v1 on `/ws`: `{type, data, requestId?}`. Events are `{type, data}`; a command that
 * carried a requestId is answered `{type:"ok", requestId, data}`; errors are
 * `{type:"error", requestId?, error:{code, message, details?}}`. See docs/protocol.md.
 */

const CallId = Type.Object({ callId: Id });
const Sdp = Type.Object({ callId: Id, sdp: SdpText });

const envelope = validator(
  Type.Object({
    type: Type.String({ minLength: 1, maxLength: 64 }),
    data: Type.Optional(Type.Unknown()),
    requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  }),
);

const Room = Type.Object({ roomId: Id });
const ChatSend = Type.Object({
  to: Id,
  messageType: Type.Union([Type.Literal(1), Type.Literal(2)]),
  contentType: Type.Integer({ minimum: 1, maximum: 5 }),
  content: Type.String({ maxLength: 32_768 }),
  kind: Type.Optional(Type.String({ maxLength: 64 })),
  avatar: Type.Optional(Type.String({ maxLength: 1024 })),
  fromUsername: Type.Optional(Type.String({ maxLength: 128 })),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
  fileSuffix: Type.Optional(Type.String({ maxLength: 16 })),
  duration: Type.Optional(Type.Integer({ minimum: 0 })),
});

const decoders: Record<string, (data: unknown) => Command> = {
  'call:invite': decoder(
    Type.Object({
      callee: Id,
      media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
      keepCalling: Type.Optional(Type.Boolean()),
    }),
    (x) => ({
      type: 'call:invite',
      callee: x.callee,
      media: x.media,
      keepCalling: x.keepCalling ?? false,
    }),
  ),
  'call:accept': decoder(CallId, (x) => ({ type: 'call:accept', call: { callId: x.callId } })),
  'call:reject': decoder(CallId, (x) => ({ type: 'call:reject', call: { callId: x.callId } })),
  'call:hangup': decoder(
    Type.Object({ callId: Id, reason: Type.Optional(Type.Literal('no_answer')) }),
    (x) =>
      x.reason
        ? { type: 'call:hangup', call: { callId: x.callId }, reason: x.reason }
        : { type: 'call:hangup', call: { callId: x.callId } },
  ),
  'call:media': decoder(
    Type.Union([
      Type.Object({
        callId: Id,
        state: Type.Literal('connected'),
        at: Type.Optional(Type.Integer({ minimum: 0 })),
      }),
      Type.Object({
        callId: Id,
        state: Type.Literal('failed'),
        reason: Type.String({ minLength: 1, maxLength: 128 }),
      }),
    ]),
    (x) =>
      x.state === 'connected'
        ? x.at === undefined
          ? { type: 'call:media', call: { callId: x.callId }, state: 'connected' }
          : { type: 'call:media', call: { callId: x.callId }, state: 'connected', at: x.at }
        : { type: 'call:media', call: { callId: x.callId }, state: 'failed', reason: x.reason },
  ),
  'call:offer': decoder(Sdp, (x) => ({
    type: 'call:offer',
    call: { callId: x.callId },
    sdp: x.sdp,
  })),
  'call:answer': decoder(Sdp, (x) => ({
    type: 'call:answer',
    call: { callId: x.callId },
    sdp: x.sdp,
  })),
  'room:join': decoder(Room, (x) => ({ type: 'room:join', roomId: x.roomId })),
  'room:leave': decoder(Room, (x) => ({ type: 'room:leave', roomId: x.roomId })),
  'room:members': decoder(Room, (x) => ({ type: 'room:members', roomId: x.roomId })),
  'room:signal': decoder(
    Type.Object({
      to: Id,
      kind: Type.Union([Type.Literal('offer'), Type.Literal('answer'), Type.Literal('ice')]),
      payload: Type.Unknown(),
    }),
    (x) => ({ type: 'room:signal', kind: x.kind, to: x.to, payload: x.payload }),
  ),
  'chat:send': decoder(ChatSend, (x) => ({
    type: 'chat:send',
    message: {
      to: x.to,
      messageType: x.messageType,
      contentType: x.contentType,
      content: x.content,
      kind: x.kind ?? '',
      avatar: x.avatar ?? '',
      fromUsername: x.fromUsername ?? '',
      url: x.url ?? '',
      fileSuffix: x.fileSuffix ?? '',
      file: new Uint8Array(),
      duration: x.duration ?? 0,
    },
  })),
  'call:ice': decoder(Type.Object({ callId: Id, candidate: Candidate }), (x) => ({
    type: 'call:ice',
    call: { callId: x.callId },
    candidate: x.candidate,
  })),
  'auth:refresh': decoder(
    Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }),
    (x) => ({
      type: 'auth:refresh',
      token: x.token,
    }),
  ),
  ...rtcDecoders,
};

/** The frame's requestId when it is a usable one (a string of 1 to 128 characters). */
function requestIdOf(raw: unknown): string | undefined {
  const id =
    typeof raw === 'object' && raw !== null
      ? (raw as Record<string, unknown>).requestId
      : undefined;
  return typeof id === 'string' && id.length >= 1 && id.length <= 128 ? id : undefined;
}

/** Relayed ICE: a head kept per call and side, and the candidate (copied or stringified). */
const iceFrames = new IceFrames();

/** One event as a native frame. */
function eventFrame(event: ServerEvent): WireFrame {
  // A relayed SDP goes out as the sender wrote it, copied rather than escaped again (`sdpJson`).
  if ((event.type === 'call:offer' || event.type === 'call:answer') && event[sdpJson]) {
    const { type, callId, caller, callee, media, from } = event;
    const head = JSON.stringify({ type, data: { type, callId, caller, callee, media, from } });
    return withLiteral(head, 'sdp', event[sdpJson]);
  }
  // A chat message's `file` bytes as base64 (proto3's JSON form), not a Buffer's JSON.
  if (event.type === 'chat:message') {
    const f = event.message.file;
    const file = Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
    return JSON.stringify({
      type: event.type,
      data: { ...event, message: { ...event.message, file } },
    });
  }
  // The event object already is the payload. One stringify of a two-field wrapper yields a
  // flat string; splicing JSON into a template makes a rope that is flattened (copied) again
  // when the socket measures and writes it.
  return JSON.stringify({ type: event.type, data: event });
}

/** The native dialect (stateless; one instance serves every connection). */
export const nativeDialect: Dialect = {
  name: 'native',

  decode(data, isBinary): Decoded {
    // A trickled candidate as the SDK writes it, the relay's hot path, is read in one pass.
    const ice = isBinary ? undefined : canonicalIce(data);
    if (ice !== undefined) return { ok: true, command: ice };
    let requestId: string | undefined;
    try {
      const text = jsonText(data, isBinary);
      const raw = parseText(text);
      // Taken before validation, so that a malformed request is still answered by its id.
      requestId = requestIdOf(raw);
      assertBoundedValue(raw);
      const env = envelope(raw);
      const decode = Object.hasOwn(decoders, env.type) ? decoders[env.type] : undefined;
      if (!decode) throw AppError.unknownType(env.type);
      const command = decode(env.data ?? {});
      keepLiterals(command, data, text);
      // A ROOM receiver expects the sender's requestId on the forwarded signal.
      if (command.type === 'room:signal' && requestId !== undefined) command.requestId = requestId;
      return requestId === undefined ? { ok: true, command } : { ok: true, command, requestId };
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.badRequest('malformed frame');
      return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
    }
  },

  peek(data) {
    const { requestId } = peekMembers(data, ['requestId']);
    return requestId ? { requestId } : {};
  },

  encodeEvent(event: ServerEvent): WireFrame | null {
    // A chat-protobuf app's own signals, and the chat message a call event forwards, are for
    // chat-protobuf devices only.
    if (event.type === 'chat:signal') return null;
    // (JSON leaves out an undefined member.)
    if (event.type === 'call:ice') return iceFrames.frame(event);
    return eventFrame('origin' in event && event.origin ? { ...event, origin: undefined } : event);
  },

  encodeResult(decoded, result): WireFrame | null {
    if (decoded.requestId === undefined) return null;
    return JSON.stringify({ type: 'ok', requestId: decoded.requestId, data: result ?? {} });
  },

  encodeError(error: ErrorBody, requestId?: string): WireFrame {
    return JSON.stringify(
      requestId === undefined ? { type: 'error', error } : { type: 'error', requestId, error },
    );
  },

  encodeSession(session: SessionReady): WireFrame {
    return JSON.stringify({ type: 'session:ready', data: session });
  },
};
