import fc from 'fast-check';
import { rtcDecoders } from '../../src/gateway/dialects/meeting.ts';
import type { ChatMessage } from '../../src/gateway/dialects/chat-protobuf.ts';
import { audioRtp, DTLS, videoRtp } from '../meeting-kit.ts';
import {
  deep,
  fields,
  hostile,
  nastyString,
  polluting,
  Raw,
  toJson,
  type Value,
} from './values.ts';

/**
 * What the fuzzer sends: for each dialect, frames that are valid-ish (known types, fields mostly
 * plausible so that handlers past validation run, some hostile) and plain garbage. Every case
 * names the user and dialect whose connection sends it.
 */

/** The connections each fuzz user holds, one per dialect. */
export const DIALECTS = ['native', 'video_call', 'room', 'chat', 'meeting', 'socket.io'] as const;
export type FuzzDialect = (typeof DIALECTS)[number];

/** The world the frames refer to: its users, meetings and rooms exist. */
export interface FuzzWorld {
  users: readonly string[];
  meetingIds: readonly string[];
  roomIds: readonly string[];
  /**
   * The users of the chat-protobuf connections, apart from `users` (who hold every other
   * dialect's). A ROOM or native room signal goes to the target's devices in a room it shares
   * with the sender, and chat-protobuf shows no room signals (docs/protocol.md): a signal to a
   * user whose only such device is a chat one is accepted and then dropped, neither answered
   * nor delivered. Room signals only ever target `users`, who have no chat device.
   */
  chatUsers: readonly string[];
}

/** How a frame's request id is set: the driver assigns a unique one, or the case holds its own. */
export type IdMode = 'assign' | 'none' | { own: Value };

/** One frame to send. */
export type Payload =
  /** A JSON object; `id` says how its request id is set (where the dialect has one). */
  | { kind: 'json'; value: Record<string, Value>; id: IdMode }
  /** Text as is (not JSON, or any JSON value). */
  | { kind: 'text'; text: string }
  /** A binary frame. */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** A ChatMessage, encoded at send time (after `SELF` is replaced). */
  | { kind: 'chat'; message: Partial<ChatMessage> }
  /** A socket.io event: name, argument, and whether an ack is asked for. */
  | { kind: 'event'; event: string; arg: Value; ack: boolean };

/**
 * Stands for the sending user's own id wherever a user id goes (a handler past the identity
 * checks needs it); the driver replaces it when it sends the frame.
 */
export const SELF = '@self';

/** A frame and who sends it. */
export interface FrameCase {
  dialect: FuzzDialect;
  /** Index into `FuzzWorld.users`. */
  user: number;
  payload: Payload;
}

const RTC_TYPES = Object.keys(rtcDecoders);
const VIDEO_CALL_TYPES = [
  'call_request',
  'call_accept',
  'call_reject',
  'no_answer',
  'call_end',
  'rtc_offer',
  'rtc_answer',
  'rtc_ice_candidate',
  'handled_answer',
];
const ROOM_CMDS = [
  'WEBRTC_OFFER',
  'WEBRTC_ANSWER',
  'WEBRTC_ICE_CANDIDATE',
  'JOIN_ROOM',
  'LEAVE_ROOM',
  'ROOM_MEMBERS',
];
const CHAT_SIGNALS = [
  'call-invite',
  'call-accept',
  'call-reject',
  'call-hangup',
  'offer',
  'answer',
  'ice-candidate',
  'room-join',
  'room-leave',
  'room-members',
];
/** Names socket.io-client refuses to emit; raw packets may still carry them. */
const SIO_RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener'];

/** Opus and VP8, as a browser's device would offer to consume. */
const RTP_CAPABILITIES = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      preferredPayloadType: 100,
      clockRate: 48000,
      channels: 2,
    },
    { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000 },
  ],
  headerExtensions: [],
};
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
const candidate = fc.record({
  candidate: fc.constantFrom('candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', ''),
  sdpMid: fc.constantFrom('0', '1', null),
  sdpMLineIndex: fc.constantFrom(0, 1, null),
});
const someId = fc.oneof(fc.uuid(), fc.constantFrom('c', 'x1', 'producer-1'));

/**
 * Ids the server hands out (transports, producers, calls ...): a frame names one with `@` and
 * the key (`"@transportId"`), and the driver puts in one it has seen in an answer, so that
 * requests about real objects get past "not found".
 */
export const LEARNED = [
  'transportId',
  'producerId',
  'consumerId',
  'dataProducerId',
  'callId',
] as const;
export type LearnedKey = (typeof LEARNED)[number];

/** A seen id of `key` most of the time, else any. */
const learned = (key: LearnedKey) =>
  fc.oneof({ arbitrary: fc.constant(`@${key}`), weight: 3 }, { arbitrary: someId, weight: 1 });

/** The fields of each rtc:* request besides meetingId (docs/protocol.md). */
const RTC_FIELDS: Record<string, string[]> = {
  'rtc:createTransport': ['direction', 'sctpCapabilities'],
  'rtc:connectTransport': ['transportId', 'dtlsParameters'],
  'rtc:produce': ['transportId', 'kind', 'rtpParameters', 'appData', 'paused'],
  'rtc:consume': ['producerId', 'rtpCapabilities', 'transportId'],
  'rtc:setConsumerPreferredLayers': ['consumerId', 'spatialLayer', 'temporalLayer'],
  'rtc:setConsumerPriority': ['consumerId', 'priority'],
  'rtc:produceData': ['transportId', 'sctpStreamParameters', 'label', 'protocol', 'appData'],
  'rtc:consumeData': ['dataProducerId', 'transportId'],
  'rtc:restartIce': ['transportId'],
  'rtc:getTransportStats': ['transportId'],
};

/** The fields of rtc request `type` (producer and consumer requests name one). */
function rtcFields(type: string): string[] {
  const own =
    ownEntry(RTC_FIELDS, type) ??
    (/Producer/.test(type) ? ['producerId'] : /Consumer/.test(type) ? ['consumerId'] : []);
  return ['meetingId', ...own];
}

/** The fields of each native call, room and chat command. */
const NATIVE_FIELDS: Record<string, string[]> = {
  'call:invite': ['callee', 'media', 'keepCalling'],
  'call:accept': ['callId'],
  'call:reject': ['callId'],
  'call:hangup': ['callId', 'reason'],
  'call:offer': ['callId', 'sdp'],
  'call:answer': ['callId', 'sdp'],
  'call:ice': ['callId', 'candidate'],
  'room:join': ['roomId'],
  'room:leave': ['roomId'],
  'room:members': ['roomId'],
  'room:signal': ['to', 'kind', 'payload'],
  'chat:send': ['to', 'messageType', 'contentType', 'content', 'kind', 'fromUsername'],
};

/** `table[key]` if it is the table's own (`constructor` is not). */
const ownEntry = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** `shape` cut down to `keys`. */
const pick = <T>(shape: Record<string, T>, keys: string[]): Record<string, T> =>
  Object.fromEntries(keys.filter((k) => Object.hasOwn(shape, k)).map((k) => [k, shape[k]!]));

/** What the server relays without looking (room:signal payload, ROOM data.data). */
const payload = fc.oneof(fc.jsonValue({ maxDepth: 4 }), deep, polluting);

/** A type name: mostly a known one, sometimes unknown or hostile. */
function typeName(known: readonly string[]): fc.Arbitrary<Value> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 12 },
    { arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'call:dance'), weight: 1 },
    { arbitrary: hostile, weight: 1 },
  );
}

/** The request id: mostly one the driver assigns, sometimes none or a bad one. */
const idMode: fc.Arbitrary<IdMode> = fc.oneof(
  { arbitrary: fc.constant<IdMode>('assign'), weight: 8 },
  { arbitrary: fc.constant<IdMode>('none'), weight: 1 },
  { arbitrary: hostile.map((own): IdMode => ({ own })), weight: 1 },
);

/** Fields of each request type, plausible values drawn from `w`. */
function shapes(w: FuzzWorld) {
  const user = fc.oneof(
    { arbitrary: fc.constant(SELF), weight: 3 },
    { arbitrary: fc.constantFrom(...w.users), weight: 2 },
  );
  const meetingId = fc.oneof(
    { arbitrary: fc.constantFrom(...w.meetingIds), weight: 8 },
    { arbitrary: someId, weight: 1 },
  );
  const roomId = fc.constantFrom(...w.roomIds);
  const rtc = {
    meetingId,
    direction: fc.constantFrom('send', 'recv'),
    transportId: learned('transportId'),
    producerId: learned('producerId'),
    consumerId: learned('consumerId'),
    dataProducerId: learned('dataProducerId'),
    kind: fc.constantFrom('audio', 'video'),
    rtpParameters: fc.oneof(
      fc.integer({ min: 1, max: 2 ** 31 }).map((ssrc) => audioRtp(ssrc)),
      fc.constant(videoRtp()),
    ),
    rtpCapabilities: fc.constant(RTP_CAPABILITIES),
    dtlsParameters: fc.constant(DTLS),
    sctpCapabilities: fc.constant({ numStreams: { OS: 1024, MIS: 1024 } }),
    sctpStreamParameters: fc.record({ streamId: fc.integer({ min: 0, max: 1023 }) }),
    appData: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))),
    paused: fc.boolean(),
    label: fc.string({ maxLength: 16 }),
    protocol: fc.string({ maxLength: 16 }),
    spatialLayer: fc.integer({ min: 0, max: 3 }),
    temporalLayer: fc.integer({ min: 0, max: 3 }),
    priority: fc.integer({ min: 1, max: 255 }),
  };
  const native = {
    callee: user,
    media: fc.constantFrom('audio', 'video'),
    keepCalling: fc.boolean(),
    callId: learned('callId'),
    reason: fc.constant('no_answer'),
    sdp: fc.constant(SDP),
    candidate,
    roomId,
    to: user,
    kind: fc.constantFrom('offer', 'answer', 'ice'),
    payload,
  };
  const videoCall = {
    caller_userid: user,
    callee_userid: user,
    call_id: learned('callId'),
    media: fc.constantFrom('audio', 'video'),
    keep_calling: fc.boolean(),
    sdp: fc.constant(SDP),
    sdp_type: fc.constantFrom('offer', 'answer'),
    candidate,
  };
  const room = { from: user, to: user, data: payload, roomId };
  return { rtc, native, videoCall, room, user };
}

/** JSON frames for `/ws`: call, room, chat and rtc commands. */
function nativeFrames(s: ReturnType<typeof shapes>): fc.Arbitrary<Payload> {
  const known = [...Object.keys(NATIVE_FIELDS), ...RTC_TYPES];
  const all = { ...s.native, ...s.rtc };
  return typeName(known).chain((type) => {
    const keys =
      typeof type !== 'string'
        ? Object.keys(all)
        : (ownEntry(NATIVE_FIELDS, type) ??
          (type.startsWith('rtc:') ? rtcFields(type) : ['callId']));
    return fc
      .record({ data: fields(pick(all, keys)), id: idMode })
      .map(({ data, id }): Payload => ({ kind: 'json', value: { type, data }, id }));
  });
}

function videoCallFrames(s: ReturnType<typeof shapes>): fc.Arbitrary<Payload> {
  return fc
    .record({
      envelope: fc.oneof(
        { arbitrary: fc.constant('video_call'), weight: 10 },
        { arbitrary: hostile, weight: 1 },
      ),
      type: typeName(VIDEO_CALL_TYPES),
      data: fields(s.videoCall),
    })
    .map(({ envelope, type, data }) => {
      const inner = data !== null && typeof data === 'object' && !(data instanceof Raw);
      const body = inner ? { ...(data as Record<string, Value>), type } : data;
      return { kind: 'json', value: { type: envelope, data: body }, id: 'none' } as const;
    });
}

function roomFrames(s: ReturnType<typeof shapes>): fc.Arbitrary<Payload> {
  return fc
    .record({
      module: fc.oneof(
        { arbitrary: fc.constant('ROOM'), weight: 10 },
        { arbitrary: hostile, weight: 1 },
      ),
      cmd: typeName(ROOM_CMDS),
      code: fc.constantFrom(200, 0, 'x'),
      msg: fc.constantFrom('success', ''),
      data: fields(s.room),
      id: idMode,
    })
    .map(({ id, ...value }) => ({ kind: 'json', value, id }) as const);
}

function meetingFrames(s: ReturnType<typeof shapes>): fc.Arbitrary<Payload> {
  return typeName(RTC_TYPES).chain((type) =>
    fc
      .record({ data: fields(pick(s.rtc, rtcFields(String(type)))), id: idMode })
      .map(({ data, id }): Payload => ({ kind: 'json', value: { type, data }, id })),
  );
}

function socketIoFrames(s: ReturnType<typeof shapes>): fc.Arbitrary<Payload> {
  const event = fc
    .oneof(
      { arbitrary: fc.constantFrom(...RTC_TYPES), weight: 12 },
      { arbitrary: fc.string({ maxLength: 70 }), weight: 1 },
      { arbitrary: fc.constantFrom('constructor', '__proto__', 'toString'), weight: 1 },
    )
    .filter((e) => !SIO_RESERVED.includes(e));
  return event.chain((event) =>
    fc
      .record({
        event: fc.constant(event),
        data: fields(pick(s.rtc, rtcFields(event))),
        // The argument is the data itself, or a whole {type, data, requestId} envelope.
        envelope: fc.boolean(),
        requestId: fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), hostile)),
        ack: fc.oneof(
          { arbitrary: fc.constant(true), weight: 9 },
          { arbitrary: fc.constant(false), weight: 1 },
        ),
      })
      .map(({ event, data, envelope, requestId, ack }) => {
        const arg = envelope ? { type: event, data, ...(requestId ? { requestId } : {}) } : data;
        return { kind: 'event', event, arg, ack } as const;
      }),
  );
}

/** ChatMessages: chat content types, signaling (contentType 6) with JSON content, garbage. */
function chatFrames(w: FuzzWorld): fc.Arbitrary<Payload> {
  const chatUser = fc.oneof(
    { arbitrary: fc.constant(SELF), weight: 3 },
    { arbitrary: fc.constantFrom(...w.chatUsers), weight: 2 },
  );
  const str = (good: fc.Arbitrary<string>) =>
    fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: nastyString, weight: 1 });
  const signal = fc
    .record({
      type: typeName(CHAT_SIGNALS),
      body: fields({
        media: fc.constantFrom('audio', 'video'),
        callId: learned('callId'),
        reason: fc.constantFrom('no_answer', 'bye'),
        offer: fc.constant({ type: 'offer', sdp: SDP }),
        answer: fc.constant({ type: 'answer', sdp: SDP }),
        candidate,
      }),
    })
    .map(({ type, body }) =>
      toJson(
        body !== null && typeof body === 'object' && !(body instanceof Raw)
          ? { ...(body as Record<string, Value>), type }
          : body,
      ),
    );
  const message = fc.record({
    from: chatUser,
    to: str(fc.oneof(chatUser, fc.constantFrom(...w.users, ...w.roomIds))),
    contentType: fc.oneof(
      { arbitrary: fc.constant(6), weight: 4 },
      { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 2 },
      { arbitrary: fc.integer(), weight: 1 },
    ),
    messageType: fc.oneof(fc.constantFrom(1, 2), fc.integer()),
    content: fc.oneof(
      { arbitrary: signal, weight: 6 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
    ),
    type: str(fc.constantFrom('text', 'call')),
    avatar: str(fc.constant('')),
    fromUsername: str(fc.constant('')),
    url: str(fc.constant('')),
    fileSuffix: str(fc.constantFrom('', 'png')),
    file: fc.uint8Array({ maxLength: 64 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 31 }),
    duration: fc.integer(),
  });
  return message.map((m): Payload => ({ kind: 'chat', message: m }));
}

/** Frames that are not the dialect's at all: any text, any JSON, any bytes, an empty frame. */
const garbage: fc.Arbitrary<Payload> = fc.oneof(
  {
    arbitrary: fc.oneof(
      fc
        .string({ unit: 'binary', maxLength: 200 })
        .map((text): Payload => ({ kind: 'text', text })),
      fc
        .jsonValue({ maxDepth: 3 })
        .map((v): Payload => ({ kind: 'text', text: JSON.stringify(v) ?? '' })),
      fc.uint8Array({ maxLength: 200 }).map((bytes): Payload => ({ kind: 'bytes', bytes })),
      deep.map((r): Payload => ({ kind: 'text', text: r.text })),
      fc.constantFrom<Payload>({ kind: 'text', text: '' }, { kind: 'text', text: '{' }),
    ),
    weight: 500,
  },
  // Now and then a frame above the hard cap (16 × 64 KiB): the server closes with 1009.
  { arbitrary: fc.constant<Payload>({ kind: 'text', text: 'x'.repeat(1_100_000) }), weight: 1 },
);

/** Every frame the fuzzer may send, from any user over any dialect. */
export function frameCase(w: FuzzWorld): fc.Arbitrary<FrameCase> {
  const s = shapes(w);
  const user = fc.integer({ min: 0, max: w.users.length - 1 });
  const of = (dialect: FuzzDialect, frames: fc.Arbitrary<Payload>) =>
    fc.record({
      dialect: fc.constant(dialect),
      user,
      payload:
        dialect === 'socket.io' ? frames : fc.oneof({ arbitrary: frames, weight: 9 }, garbage),
    });
  return fc.oneof(
    of('native', nativeFrames(s)),
    of('video_call', videoCallFrames(s)),
    of('room', roomFrames(s)),
    of('chat', chatFrames(w)),
    of('meeting', meetingFrames(s)),
    of('socket.io', socketIoFrames(s)),
  );
}
