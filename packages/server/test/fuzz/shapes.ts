import fc from 'fast-check';
import { audioRtp, DTLS, videoRtp } from '../meeting-kit.ts';
import { deep, polluting } from './values.ts';
import { SELF, type FuzzWorld, type LearnedKey } from './world.ts';

/**
 * What each request carries: the fields of every native, meeting and dialect request type, and
 * for each field a plausible value (the world's users, meetings and rooms, ids the server handed
 * out, browser-like RTP parameters), which `fields()` mixes with hostile ones.
 */

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
/** A minimal SDP body. */
export const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
/** An ICE candidate as a browser sends it (or end-of-candidates). */
export const candidate = fc.record({
  candidate: fc.constantFrom('candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', ''),
  sdpMid: fc.constantFrom('0', '1', null),
  sdpMLineIndex: fc.constantFrom(0, 1, null),
});
/** An id the server never handed out. */
export const someId = fc.oneof(fc.uuid(), fc.constantFrom('c', 'x1', 'producer-1'));

/** A seen id of `key` most of the time, else any. */
export const learned = (key: LearnedKey) =>
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
export function rtcFields(type: string): string[] {
  const own =
    ownEntry(RTC_FIELDS, type) ??
    (/Producer/.test(type) ? ['producerId'] : /Consumer/.test(type) ? ['consumerId'] : []);
  return ['meetingId', ...own];
}

/** The fields of each native call, room and chat command. */
export const NATIVE_FIELDS: Record<string, string[]> = {
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
export const ownEntry = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** `shape` cut down to `keys`. */
export const pick = <T>(shape: Record<string, T>, keys: string[]): Record<string, T> =>
  Object.fromEntries(keys.filter((k) => Object.hasOwn(shape, k)).map((k) => [k, shape[k]!]));

/** What the server relays without looking (room:signal payload, ROOM data.data). */
export const payload = fc.oneof(fc.jsonValue({ maxDepth: 4 }), deep, polluting);

/** Fields of each request type, plausible values drawn from `w`. */
export function shapes(w: FuzzWorld) {
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
