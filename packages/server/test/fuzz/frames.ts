import fc from 'fast-check';
import { rtcDecoders } from '../../src/gateway/dialects/meeting.ts';
import {
  candidate,
  learned,
  NATIVE_FIELDS,
  ownEntry,
  pick,
  rtcFields,
  SDP,
  shapes,
} from './shapes.ts';
import { deep, fields, hostile, nastyString, Raw, toJson, type Value } from './values.ts';
import {
  SELF,
  type FrameCase,
  type FuzzDialect,
  type FuzzWorld,
  type IdMode,
  type Payload,
} from './world.ts';

/**
 * What the fuzzer sends: for each dialect, frames that are valid-ish (known types, fields mostly
 * plausible so that handlers past validation run, some hostile) and plain garbage. Every case
 * names the user and dialect whose connection sends it.
 */

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
      // A hostile type may be any JSON value, one that String() cannot convert among them
      // (an object with a `toString` member): it gets the fields every rtc command has.
      .record({
        data: fields(pick(s.rtc, rtcFields(typeof type === 'string' ? type : ''))),
        id: idMode,
      })
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
