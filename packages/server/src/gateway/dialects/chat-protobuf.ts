import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  AppError,
  assertBoundedValue,
  type CallSelector,
  type ChatOrigin,
  type Command,
  type EndReason,
  type ErrorBody,
  type Media,
  type ServerEvent,
} from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import type { Decoded, Dialect, WireFrame } from '../dialect.ts';
import { validator } from '../json.ts';
import { Candidate, Id, SdpText } from './fields.ts';

/**
 * chat-protobuf on `/ws/chat`, as specs/chat-protobuf.md: every frame is one binary protobuf
 * `ChatMessage` (schema in `chat.proto` beside this file, parsed once at load). Content types
 * 1–5 are chat messages (messageType 1 to a user, 2 to a room); content type 6 carries WebRTC
 * signaling as JSON `{type, ...}` in `content`. `from` must be the authenticated user. A signal
 * is forwarded as the sender's own message (its ChatOrigin rides with the command), and a type
 * Parley does not know is the app's own, forwarded to `to` as sent. What Parley adds (callId,
 * call-failed codes, call-handled, call-record, room-join, the error frame) is documented in
 * docs/protocol.md.
 */

const ChatMessageType = protobuf
  .parse(readFileSync(new URL('./chat.proto', import.meta.url), 'utf8'), { keepCase: true })
  .root.lookupType('ChatMessage');

/** One `ChatMessage` with every field present (proto3 defaults for the unset ones). */
export interface ChatMessage {
  avatar: string;
  fromUsername: string;
  from: string;
  to: string;
  content: string;
  /** 1 text, 2 file, 3 image, 4 voice, 5 video, 6 WebRTC signaling. */
  contentType: number;
  type: string;
  /** 1 single chat, 2 group chat. */
  messageType: number;
  url: string;
  fileSuffix: string;
  file: Uint8Array;
  /** int64 epoch ms, as a number. */
  timestamp: number;
  duration: number;
}

/** contentType 6: the WebRTC signaling channel. */
export const SIGNALING = 6;

/** Encodes a ChatMessage; fields left out take their proto3 defaults. */
export function encodeChatMessage(m: Partial<ChatMessage>): Buffer {
  const bytes = ChatMessageType.encode(m).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a ChatMessage. Throws a bad_request for bytes that are not one (truncated, garbage, a
 * known field with the wrong wire type); fields this schema does not know are ignored.
 */
export function decodeChatMessage(data: Uint8Array): ChatMessage {
  let message: protobuf.Message & { $unknowns?: Uint8Array[] };
  try {
    const reader = protobuf.Reader.create(data);
    // Keep unknown fields (per reader, not globally) so that wrong wire types can be told apart.
    reader.discardUnknown = false;
    message = ChatMessageType.decode(reader);
  } catch {
    throw AppError.badRequest('frame is not a valid ChatMessage protobuf');
  }
  for (const raw of message.$unknowns ?? []) {
    const id = protobuf.Reader.create(raw).uint32() >>> 3;
    const field = ChatMessageType.fieldsById[id];
    if (field) {
      throw AppError.badRequest(`field ${field.name} (${id}) has the wrong wire type`, {
        field: `/${field.name}`,
      });
    }
  }
  return ChatMessageType.toObject(message, { longs: Number, defaults: true }) as ChatMessage;
}

/** The checks every inbound message passes before it is routed. */
const checkMessage = validator(
  Type.Object({
    from: Id,
    to: Id,
    contentType: Type.Integer({ minimum: 1, maximum: SIGNALING }),
    type: Type.String({ maxLength: 64 }),
    // An inline avatar (a data: URL) is bounded by the frame cap alone.
    avatar: Type.String(),
    fromUsername: Type.String({ maxLength: 128 }),
    url: Type.String({ maxLength: 2048 }),
    fileSuffix: Type.String({ maxLength: 16 }),
    duration: Type.Integer({ minimum: 0 }),
  }),
);

/** The JSON in a signaling message's `content`. `from`/`to` repeat the message's, if present. */
const SignalShape = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64 }),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
});
const checkSignal = validator(SignalShape);
type Signal = Static<typeof SignalShape>;

/** Optional extension: names the call exactly instead of by the pair. */
const CallIdField = { callId: Type.Optional(Id) };

type SignalDecoder = (signal: unknown, m: ChatMessage) => Command;

function checked<T extends TSchema>(
  schema: T,
  build: (value: Static<T>, m: ChatMessage) => Command,
): SignalDecoder {
  const check = validator(schema);
  return (signal, m) => build(check(signal), m);
}

/** The sender's live call with `to` (either direction), or the call named by callId. */
const peerCall = (x: { callId?: string | undefined }, m: ChatMessage): CallSelector =>
  x.callId ? { callId: x.callId } : { peer: m.to };

function answer(type: 'call:accept' | 'call:reject'): SignalDecoder {
  // The callee answers: the call `to` → sender.
  return checked(Type.Object(CallIdField), (x, m) => ({
    type,
    call: x.callId ? { callId: x.callId } : { caller: m.to, callee: m.from },
  }));
}

/** RTCSessionDescriptionInit of the given type (`type` may be left out). */
const Description = <K extends 'offer' | 'answer'>(kind: K) =>
  Type.Object({ type: Type.Optional(Type.Literal(kind)), sdp: SdpText });

const Room = Type.Object({});

/** contentType 6 `content.type` → canonical command. */
const signals: Record<string, SignalDecoder> = {
  'call-invite': checked(
    Type.Object({
      media: Type.Optional(Type.Union([Type.Literal('audio'), Type.Literal('video')])),
      keepCalling: Type.Optional(Type.Boolean()),
    }),
    (x, m) => ({
      type: 'call:invite',
      callee: m.to,
      // The spec is a voice call.
      media: x.media ?? 'audio',
      keepCalling: x.keepCalling ?? false,
    }),
  ),
  'call-accept': answer('call:accept'),
  'call-reject': answer('call:reject'),
  'call-hangup': checked(
    Type.Object({ ...CallIdField, reason: Type.Optional(Type.String({ maxLength: 256 })) }),
    (x, m) =>
      // A client's own ring timeout is `reason: "no_answer"`; other reasons are free text.
      x.reason === 'no_answer'
        ? { type: 'call:hangup', call: peerCall(x, m), reason: 'no_answer' }
        : { type: 'call:hangup', call: peerCall(x, m) },
  ),
  offer: checked(Type.Object({ ...CallIdField, offer: Description('offer') }), (x, m) => ({
    type: 'call:offer',
    call: peerCall(x, m),
    sdp: x.offer.sdp,
  })),
  answer: checked(Type.Object({ ...CallIdField, answer: Description('answer') }), (x, m) => ({
    type: 'call:answer',
    call: peerCall(x, m),
    sdp: x.answer.sdp,
  })),
  'ice-candidate': checked(Type.Object({ ...CallIdField, candidate: Candidate }), (x, m) => ({
    type: 'call:ice',
    call: peerCall(x, m),
    candidate: x.candidate,
  })),
  // Extensions: a chat-protobuf device joins, leaves or lists room `to` (for group chat).
  'room-join': checked(Room, (_x, m) => ({ type: 'room:join', roomId: m.to })),
  'room-leave': checked(Room, (_x, m) => ({ type: 'room:leave', roomId: m.to })),
  'room-members': checked(Room, (_x, m) => ({ type: 'room:members', roomId: m.to })),
};

function parseSignal(content: string): Signal {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    throw AppError.badRequest('content of a contentType 6 message must be JSON', {
      field: '/content',
    });
  }
  assertBoundedValue(value);
  return checkSignal(value);
}

/** The sender's message as it is forwarded (everything but from, to and timestamp). */
function originOf(m: ChatMessage, content: Signal): ChatOrigin {
  const origin: ChatOrigin = {
    avatar: m.avatar,
    fromUsername: m.fromUsername,
    type: m.type,
    messageType: m.messageType,
    url: m.url,
    fileSuffix: m.fileSuffix,
    duration: m.duration,
    content,
  };
  if (m.file.length > 0) {
    origin.file = Buffer.from(m.file.buffer, m.file.byteOffset, m.file.byteLength).toString(
      'base64',
    );
  }
  return origin;
}

/** A signal command of the call engine, which carries the sender's message along. */
const carriesOrigin = (c: Command): c is Command & { origin?: ChatOrigin } =>
  c.type.startsWith('call:');

/** `from` is the authenticated user; the signal's own from/to, if any, repeat the message's. */
function checkIdentity(m: ChatMessage, signal: Signal | null, sender: Sender): void {
  if (m.from !== sender.userId) throw AppError.forbidden('from must be the authenticated user');
  if (signal?.from && signal.from !== m.from) {
    throw AppError.forbidden('content.from must be the authenticated user');
  }
  if (signal?.to && signal.to !== m.to) {
    throw AppError.badRequest('content.to differs from the message to', { field: '/content/to' });
  }
}

function appSignal(m: ChatMessage, origin: ChatOrigin): Command {
  if (m.to === m.from) {
    throw AppError.badRequest('a signal cannot be sent to oneself', { field: '/to' });
  }
  return { type: 'chat:signal', to: m.to, origin };
}

function chatSend(m: ChatMessage, sender: Sender): Command {
  if (m.messageType !== 1 && m.messageType !== 2) {
    throw AppError.badRequest('messageType must be 1 (single chat) or 2 (group chat)', {
      field: '/messageType',
    });
  }
  return {
    type: 'chat:send',
    message: {
      to: m.to,
      messageType: m.messageType,
      contentType: m.contentType,
      content: m.content,
      kind: m.type,
      avatar: m.avatar,
      fromUsername: m.fromUsername || sender.name,
      url: m.url,
      fileSuffix: m.fileSuffix,
      file: m.file,
      duration: m.duration,
    },
  };
}

/**
 * Keys of `content` only the server can vouch for (the call's id, the canonical end reason and
 * who caused it, the answering device's type): Parley's value wins over a sender's.
 */
const VOUCHED = ['callId', 'code', 'by', 'fromClientType'] as const;

/**
 * The sender's own message forwarded to `to`, as the spec's forwardMessageToUser does: its
 * fields as sent, `from` checked, `timestamp` stamped, and in `content` Parley's keys (`added`)
 * where the sender set none of its own (the VOUCHED ones always).
 */
function forwarded(
  o: ChatOrigin,
  from: string,
  to: string,
  added: Record<string, unknown>,
  timestamp = Date.now(),
): Buffer {
  return encodeChatMessage({
    avatar: o.avatar,
    fromUsername: o.fromUsername,
    from,
    to,
    content: JSON.stringify(merged(added, o.content)),
    contentType: SIGNALING,
    type: o.type,
    messageType: o.messageType,
    url: o.url,
    fileSuffix: o.fileSuffix,
    ...(o.file === undefined ? {} : { file: Buffer.from(o.file, 'base64') }),
    timestamp,
    duration: o.duration,
  });
}

function merged(added: Record<string, unknown>, sent: Record<string, unknown>): object {
  const out = { ...added, ...sent };
  for (const k of VOUCHED) if (k in added) out[k] = added[k];
  return out;
}

/**
 * The signal types whose message each event may forward: an event caused by another kind of
 * message (a glare invite that became an accept) is told in Parley's own words instead.
 */
const FORWARDS: Partial<Record<ServerEvent['type'], readonly string[]>> = {
  'call:incoming': ['call-invite'],
  'call:accepted': ['call-accept'],
  'call:ended': ['call-reject', 'call-hangup'],
  'call:offer': ['offer'],
  'call:answer': ['answer'],
  'call:ice': ['ice-candidate'],
};

/** A signaling frame from the server. */
function signalFrame(
  from: string,
  to: string,
  content: { type: string } & Record<string, unknown>,
  extra: Partial<ChatMessage> = {},
): Buffer {
  return encodeChatMessage({
    from,
    to,
    contentType: SIGNALING,
    messageType: 1,
    type: content.type,
    timestamp: Date.now(),
    content: JSON.stringify(content),
    ...extra,
  });
}

interface CallBase {
  type: ServerEvent['type'];
  callId: string;
  caller: string;
  callee: string;
  media: Media;
  origin?: ChatOrigin | undefined;
}

/**
 * A call event for `r`: `from` is always the other party of the call, `to` the recipient. An
 * event that forwards a chat-protobuf sender's message is that message (see `forwarded`).
 */
function callFrame(
  e: CallBase,
  r: Sender,
  type: string,
  extra: Record<string, unknown> = {},
  fromUsername = '',
): Buffer {
  const peer = r.userId === e.caller ? e.callee : e.caller;
  const content = { type, from: peer, to: r.userId, callId: e.callId, media: e.media, ...extra };
  const origin = e.origin;
  if (origin && FORWARDS[e.type]?.includes(origin.content.type as string)) {
    return forwarded(origin, peer, r.userId, content);
  }
  return signalFrame(peer, r.userId, content, { fromUsername });
}

/**
 * How an end reason is told. The spec has call-reject, call-hangup and call-failed (with the
 * display text `reason`); `code` always carries the canonical end reason. `no_answer` is a
 * call-hangup so that a ringing callee that only knows the spec's types stops ringing.
 */
const ENDED: Record<EndReason, { type: string; reason: string }> = {
  rejected: { type: 'call-reject', reason: 'rejected' },
  busy: { type: 'call-failed', reason: '用户忙线中' },
  offline: { type: 'call-failed', reason: '用户离线' },
  no_answer: { type: 'call-hangup', reason: 'no_answer' },
  cancelled: { type: 'call-hangup', reason: 'cancelled' },
  hangup: { type: 'call-hangup', reason: 'hangup' },
  disconnected: { type: 'call-hangup', reason: 'disconnected' },
  failed: { type: 'call-hangup', reason: 'failed' },
  shutdown: { type: 'call-hangup', reason: 'shutdown' },
  node_lost: { type: 'call-hangup', reason: 'node_lost' },
  node_restart: { type: 'call-hangup', reason: 'node_restart' },
  admin: { type: 'call-hangup', reason: 'admin' },
};

/** Every event but the meetings' (`rtc:*`, which have no chat-protobuf shape) has an entry. */
type Shown = Exclude<ServerEvent['type'], `rtc:${string}`>;
type EventOf<K extends Shown> = ServerEvent & { type: K };
type Encoder = (e: ServerEvent, r: Sender) => WireFrame | null;
type Encoders = { [K in Shown]: (e: EventOf<K>, r: Sender) => WireFrame | null };

/** Canonical event → frame for one recipient (null: not shown in this dialect). */
const encoders: Encoders = {
  'call:incoming': (e, r) =>
    callFrame(
      e,
      r,
      'call-invite',
      { fromName: e.callerName, fromClientType: e.callerDevice.clientType },
      e.callerName,
    ),
  'call:ringing': (e, r) => callFrame(e, r, 'call-ringing', { devices: e.devices }),
  'call:accepted': (e, r) => callFrame(e, r, 'call-accept', { fromClientType: e.by.clientType }),
  'call:answered_elsewhere': (e, r) =>
    callFrame(e, r, 'call-handled', {
      accepted: e.accepted,
      fromClientType: e.fromClientType,
      timetag: e.timetag,
    }),
  'call:handled': (e, r) => callFrame(e, r, 'call-handled', {}),
  'call:ended': (e, r) => {
    const end = ENDED[e.reason];
    return callFrame(e, r, end.type, { reason: end.reason, code: e.reason, by: e.by });
  },
  'call:offer': (e, r) => callFrame(e, r, 'offer', { offer: { type: 'offer', sdp: e.sdp } }),
  'call:answer': (e, r) => callFrame(e, r, 'answer', { answer: { type: 'answer', sdp: e.sdp } }),
  'call:ice': (e, r) => callFrame(e, r, 'ice-candidate', { candidate: e.candidate }),
  'call:record': ({ record }, r) => {
    const peer = r.userId === record.caller ? record.callee : record.caller;
    return signalFrame(peer, r.userId, {
      type: 'call-record',
      from: peer,
      to: r.userId,
      ...record,
    });
  },
  'room:member_joined': (e) => roomFrame('room-member-joined', e),
  'room:member_left': (e) => roomFrame('room-member-left', e),
  // ROOM peer signaling has no chat-protobuf shape.
  'room:signal': () => null,
  'chat:signal': (e) => forwarded(e.origin, e.from, e.to, {}, e.timestamp),
  'chat:message': ({ from, message: c, timestamp }) =>
    encodeChatMessage({
      avatar: c.avatar,
      fromUsername: c.fromUsername,
      from,
      to: c.to,
      content: c.content,
      contentType: c.contentType,
      type: c.kind,
      messageType: c.messageType,
      url: c.url,
      fileSuffix: c.fileSuffix,
      file: c.file,
      timestamp,
      duration: c.duration,
    }),
};

function roomFrame(type: string, e: { roomId: string; userId: string; name: string }): Buffer {
  return signalFrame(
    e.userId,
    e.roomId,
    { type, roomId: e.roomId, userId: e.userId, name: e.name },
    { fromUsername: e.name, messageType: 2 },
  );
}

/** A room command's result, `{roomId, members?}`, as an acknowledgement frame of `type`. */
function roomAck(type: string): (result: unknown) => WireFrame {
  return (result) => {
    const view = result as { roomId: string; members?: unknown[] };
    const content = view.members
      ? { type, roomId: view.roomId, members: view.members }
      : { type, roomId: view.roomId };
    return signalFrame('system', view.roomId, content, { messageType: 2 });
  };
}

/** Acknowledgements: only the room extensions have one (the spec has no acks). */
const results: Partial<Record<Command['type'], (result: unknown) => WireFrame>> = {
  'room:join': roomAck('room-joined'),
  'room:leave': roomAck('room-left'),
  'room:members': roomAck('room-members'),
};

/** The chat-protobuf dialect (stateless; one instance serves every connection). */
export const chatProtobufDialect: Dialect = {
  name: 'chat_protobuf',
  binary: true,

  decode(data, isBinary, sender): Decoded {
    let context: string | undefined;
    try {
      if (!isBinary) {
        throw AppError.badRequest('text frames are not accepted on /ws/chat; send a ChatMessage');
      }
      const m = decodeChatMessage(data);
      checkMessage(m);
      const signal = m.contentType === SIGNALING ? parseSignal(m.content) : null;
      context = signal ? signal.type : 'chat';
      checkIdentity(m, signal, sender);
      if (!signal) return { ok: true, command: chatSend(m, sender), context };
      const origin = originOf(m, signal);
      // Own keys only: `constructor` or `toString` are an app's types, not Object methods.
      const decode = Object.hasOwn(signals, signal.type) ? signals[signal.type] : undefined;
      // A type Parley does not know is the app's own: forwarded to `to` as sent.
      if (!decode) return { ok: true, command: appSignal(m, origin), context };
      const command = decode(signal, m);
      if (carriesOrigin(command)) command.origin = origin;
      return { ok: true, command, context };
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.badRequest('malformed frame');
      return context === undefined ? { ok: false, error } : { ok: false, error, context };
    }
  },

  encodeEvent(event, recipient): WireFrame | null {
    const encode = (encoders as Partial<Record<string, Encoder>>)[event.type];
    return encode ? encode(event, recipient) : null;
  },

  encodeResult(decoded, result): WireFrame | null {
    return results[decoded.command.type]?.(result) ?? null;
  },

  encodeError(error: ErrorBody, _requestId?: string, context?: string): WireFrame {
    return encodeChatMessage({
      from: 'system',
      contentType: SIGNALING,
      messageType: 1,
      type: 'error',
      timestamp: Date.now(),
      content: JSON.stringify({
        type: 'error',
        code: error.code,
        message: error.message,
        ...(context ? { requestType: context } : {}),
        ...(error.details ? { details: error.details } : {}),
      }),
    });
  },
};
