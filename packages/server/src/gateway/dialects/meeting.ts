import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import {
  AppError,
  assertBoundedValue,
  isRtcEvent,
  type Command,
  type ErrorBody,
  type ErrorCode,
  type RtcCommandType,
  type RtcEvent,
  type RtcResource,
  SAFE_TEXT_PATTERN,
  type ServerEvent,
} from '@parley/protocol';
import type { Decoded, Dialect, WireFrame } from '../dialect.ts';
import { decoder, parseJson, peekMembers, validator } from '../json.ts';

/**
 * The meeting dialect of specs/meeting-sfu.md, on `/ws/meeting` and (see socket-io.ts) over
 * socket.io. Requests are `{type, data, requestId?}`; each is answered
 * `{type: <response type>, requestId?, data}` or `{type: "rtc:error", requestId?, request,
 * error: <message>, code: <number>}`; events are `{type, data}`. The rtc:* request decoders
 * are shared with the native dialect on `/ws`. See docs/protocol.md.
 */

const Str = (max: number, min = 1) => Type.String({ minLength: min, maxLength: max });
const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Uint32 = Int(0, 0xffff_ffff);
/** Free-form string→value maps (codec parameters, appData); the frame size bounds them. */
const Dict = Type.Record(Type.String({ maxLength: 256 }), Type.Unknown());

// Outlines of mediasoup's JSON shapes: enough to refuse garbage before the SFU sees it, and
// loose where browsers differ (extra fields pass; mediasoup checks the meaning).
const RtcpFeedback = Type.Object({ type: Str(64), parameter: Type.Optional(Str(64, 0)) });
const HeaderExtension = Type.Object({
  uri: Str(256),
  id: Int(1, 255),
  encrypt: Type.Optional(Type.Boolean()),
  parameters: Type.Optional(Dict),
});
const RtpCodec = Type.Object({
  mimeType: Str(64),
  payloadType: Int(0, 127),
  clockRate: Int(1, 1_000_000),
  channels: Type.Optional(Int(1, 16)),
  parameters: Type.Optional(Dict),
  rtcpFeedback: Type.Optional(Type.Array(RtcpFeedback, { maxItems: 32 })),
});
const RtpEncoding = Type.Object({
  ssrc: Type.Optional(Uint32),
  rid: Type.Optional(Str(32)),
  codecPayloadType: Type.Optional(Int(0, 127)),
  rtx: Type.Optional(Type.Object({ ssrc: Uint32 })),
  dtx: Type.Optional(Type.Boolean()),
  scalabilityMode: Type.Optional(Str(32)),
  maxBitrate: Type.Optional(Type.Number({ minimum: 0 })),
});
const RtpParameters = Type.Object({
  mid: Type.Optional(Str(32)),
  codecs: Type.Array(RtpCodec, { minItems: 1, maxItems: 32 }),
  headerExtensions: Type.Optional(Type.Array(HeaderExtension, { maxItems: 32 })),
  encodings: Type.Optional(Type.Array(RtpEncoding, { maxItems: 16 })),
  rtcp: Type.Optional(
    Type.Object({
      cname: Type.Optional(Str(256, 0)),
      reducedSize: Type.Optional(Type.Boolean()),
      mux: Type.Optional(Type.Boolean()),
    }),
  ),
});
const Kind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
const RtpCapabilities = Type.Object({
  codecs: Type.Optional(
    Type.Array(
      Type.Object({
        kind: Kind,
        mimeType: Str(64),
        preferredPayloadType: Type.Optional(Int(0, 127)),
        clockRate: Int(1, 1_000_000),
        channels: Type.Optional(Int(1, 16)),
        parameters: Type.Optional(Dict),
        rtcpFeedback: Type.Optional(Type.Array(RtcpFeedback, { maxItems: 32 })),
      }),
      { maxItems: 64 },
    ),
  ),
  headerExtensions: Type.Optional(
    Type.Array(
      Type.Object({
        kind: Type.Optional(Kind),
        uri: Str(256),
        preferredId: Int(1, 255),
        preferredEncrypt: Type.Optional(Type.Boolean()),
        direction: Type.Optional(Str(16)),
      }),
      { maxItems: 64 },
    ),
  ),
});
const DtlsParameters = Type.Object({
  role: Type.Optional(
    Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('server')]),
  ),
  fingerprints: Type.Array(Type.Object({ algorithm: Str(32), value: Str(256) }), {
    minItems: 1,
    maxItems: 8,
  }),
});
const SctpCapabilities = Type.Object({
  numStreams: Type.Object({ OS: Int(1, 65535), MIS: Int(1, 65535) }),
});
const SctpStreamParameters = Type.Object({
  streamId: Int(0, 65534),
  ordered: Type.Optional(Type.Boolean()),
  maxPacketLifeTime: Type.Optional(Int(0, 65535)),
  maxRetransmits: Type.Optional(Int(0, 65535)),
});

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: SAFE_TEXT_PATTERN });

type WithMeeting<P extends TProperties> = TObject<P & { meetingId: typeof Id }>;

/** A schema over `data` (its fields plus `meetingId`) and the canonical command it builds. */
function rtc<P extends TProperties, C extends Command>(
  props: P,
  build: (x: Static<WithMeeting<P>>) => C,
): (data: unknown) => C {
  return decoder(Type.Object({ ...props, meetingId: Id }) as WithMeeting<P>, build);
}

/** The rtc:* request decoders (also used by the native dialect). */
export const rtcDecoders: Record<RtcCommandType, (data: unknown) => Command> = {
  'rtc:join': rtc({}, (x) => ({ type: 'rtc:join', meetingId: x.meetingId })),
  'rtc:getRouterRtpCapabilities': rtc({}, (x) => ({
    type: 'rtc:getRouterRtpCapabilities',
    meetingId: x.meetingId,
  })),
  'rtc:createTransport': rtc(
    {
      direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]),
      sctpCapabilities: Type.Optional(SctpCapabilities),
    },
    (x) => ({
      type: 'rtc:createTransport',
      meetingId: x.meetingId,
      direction: x.direction,
      ...(x.sctpCapabilities ? { sctpCapabilities: x.sctpCapabilities } : {}),
    }),
  ),
  'rtc:connectTransport': rtc({ transportId: Id, dtlsParameters: DtlsParameters }, (x) => ({
    type: 'rtc:connectTransport',
    meetingId: x.meetingId,
    transportId: x.transportId,
    dtlsParameters: x.dtlsParameters,
  })),
  'rtc:produce': rtc(
    {
      transportId: Id,
      kind: Kind,
      rtpParameters: RtpParameters,
      appData: Type.Optional(Dict),
      paused: Type.Optional(Type.Boolean()),
    },
    (x) => ({
      type: 'rtc:produce',
      meetingId: x.meetingId,
      transportId: x.transportId,
      kind: x.kind,
      rtpParameters: x.rtpParameters,
      appData: x.appData ?? {},
      paused: x.paused ?? false,
    }),
  ),
  'rtc:consume': rtc(
    { producerId: Id, rtpCapabilities: RtpCapabilities, transportId: Type.Optional(Id) },
    (x) => ({
      type: 'rtc:consume',
      meetingId: x.meetingId,
      producerId: x.producerId,
      rtpCapabilities: x.rtpCapabilities,
      ...(x.transportId === undefined ? {} : { transportId: x.transportId }),
    }),
  ),
  'rtc:closeProducer': producer('rtc:closeProducer'),
  'rtc:pauseProducer': producer('rtc:pauseProducer'),
  'rtc:resumeProducer': producer('rtc:resumeProducer'),
  'rtc:getProducerStats': producer('rtc:getProducerStats'),
  'rtc:resumeConsumer': consumer('rtc:resumeConsumer'),
  'rtc:pauseConsumer': consumer('rtc:pauseConsumer'),
  'rtc:requestConsumerKeyFrame': consumer('rtc:requestConsumerKeyFrame'),
  'rtc:getConsumerStats': consumer('rtc:getConsumerStats'),
  'rtc:setConsumerPreferredLayers': rtc(
    { consumerId: Id, spatialLayer: Int(0, 15), temporalLayer: Type.Optional(Int(0, 15)) },
    (x) => ({
      type: 'rtc:setConsumerPreferredLayers',
      meetingId: x.meetingId,
      consumerId: x.consumerId,
      spatialLayer: x.spatialLayer,
      ...(x.temporalLayer === undefined ? {} : { temporalLayer: x.temporalLayer }),
    }),
  ),
  'rtc:setConsumerPriority': rtc({ consumerId: Id, priority: Int(1, 255) }, (x) => ({
    type: 'rtc:setConsumerPriority',
    meetingId: x.meetingId,
    consumerId: x.consumerId,
    priority: x.priority,
  })),
  'rtc:restartIce': transport('rtc:restartIce'),
  'rtc:getTransportStats': transport('rtc:getTransportStats'),
  'rtc:produceData': rtc(
    {
      transportId: Id,
      sctpStreamParameters: SctpStreamParameters,
      label: Type.Optional(Str(256, 0)),
      protocol: Type.Optional(Str(256, 0)),
      appData: Type.Optional(Dict),
    },
    (x) => ({
      type: 'rtc:produceData',
      meetingId: x.meetingId,
      transportId: x.transportId,
      sctpStreamParameters: x.sctpStreamParameters,
      label: x.label ?? '',
      protocol: x.protocol ?? '',
      appData: x.appData ?? {},
    }),
  ),
  'rtc:consumeData': rtc({ dataProducerId: Id, transportId: Type.Optional(Id) }, (x) => ({
    type: 'rtc:consumeData',
    meetingId: x.meetingId,
    dataProducerId: x.dataProducerId,
    ...(x.transportId === undefined ? {} : { transportId: x.transportId }),
  })),
  'rtc:leave': rtc({}, (x) => ({ type: 'rtc:leave', meetingId: x.meetingId })),
};

function producer(
  type: 'rtc:closeProducer' | 'rtc:pauseProducer' | 'rtc:resumeProducer' | 'rtc:getProducerStats',
) {
  return rtc({ producerId: Id }, (x) => ({
    type,
    meetingId: x.meetingId,
    producerId: x.producerId,
  }));
}

function consumer(
  type:
    | 'rtc:resumeConsumer'
    | 'rtc:pauseConsumer'
    | 'rtc:requestConsumerKeyFrame'
    | 'rtc:getConsumerStats',
) {
  return rtc({ consumerId: Id }, (x) => ({
    type,
    meetingId: x.meetingId,
    consumerId: x.consumerId,
  }));
}

function transport(type: 'rtc:restartIce' | 'rtc:getTransportStats') {
  return rtc({ transportId: Id }, (x) => ({
    type,
    meetingId: x.meetingId,
    transportId: x.transportId,
  }));
}

/** The response type of each request: the spec's names, and the same pattern for extensions. */
const RESPONSE_TYPE: Record<RtcCommandType, string> = {
  'rtc:join': 'rtc:joined',
  'rtc:getRouterRtpCapabilities': 'rtc:routerRtpCapabilities',
  'rtc:createTransport': 'rtc:transportCreated',
  'rtc:connectTransport': 'rtc:transportConnected',
  'rtc:produce': 'rtc:produced',
  'rtc:consume': 'rtc:consumed',
  'rtc:resumeConsumer': 'rtc:consumerResumed',
  'rtc:leave': 'rtc:left',
  'rtc:closeProducer': 'rtc:producerClosed',
  'rtc:pauseProducer': 'rtc:producerPaused',
  'rtc:resumeProducer': 'rtc:producerResumed',
  'rtc:getProducerStats': 'rtc:producerStats',
  'rtc:pauseConsumer': 'rtc:consumerPaused',
  'rtc:requestConsumerKeyFrame': 'rtc:consumerKeyFrameRequested',
  'rtc:getConsumerStats': 'rtc:consumerStats',
  'rtc:setConsumerPreferredLayers': 'rtc:consumerPreferredLayersSet',
  'rtc:setConsumerPriority': 'rtc:consumerPrioritySet',
  'rtc:restartIce': 'rtc:iceRestarted',
  'rtc:getTransportStats': 'rtc:transportStats',
  'rtc:produceData': 'rtc:dataProduced',
  'rtc:consumeData': 'rtc:dataConsumed',
};

/** The spec's numeric codes (40001 … 50001) and, for the rest, REQ-002's HTTP×100 numbering. */
const CODE: Readonly<Record<ErrorCode, number>> = {
  bad_request: 40001,
  unknown_type: 40002,
  self_call: 40001,
  unauthorized: 40101,
  forbidden: 40301,
  not_in_call: 40301,
  not_in_room: 40301,
  not_found: 40401,
  target_offline: 40401,
  meeting_ended: 40901,
  invalid_state: 40902,
  no_connection: 40902,
  frame_too_large: 41301,
  rate_limited: 42901,
  limit_exceeded: 42902,
  internal: 50001,
  unavailable: 50301,
};

/** `not_found` by what was not found (details.resource). */
const NOT_FOUND_CODE: Readonly<Record<RtcResource, number>> = {
  meeting: 40401,
  transport: 40402,
  producer: 40403,
  consumer: 40404,
  dataProducer: 40405,
};

/** The numeric meeting code of an error. */
export function meetingCode(error: ErrorBody): number {
  const resource = error.details?.resource as RtcResource | undefined;
  if (error.code === 'not_found' && resource && resource in NOT_FOUND_CODE) {
    return NOT_FOUND_CODE[resource];
  }
  return CODE[error.code];
}

/** A request's answer in the meeting wire shape. */
export interface RtcResponse {
  type: string;
  requestId?: string;
  data: unknown;
}

/** An error in the meeting wire shape. */
export interface RtcErrorResponse {
  type: 'rtc:error';
  requestId?: string;
  /** The type of the request that failed, when it was known. */
  request?: string;
  error: string;
  code: number;
}

/** Decodes one rtc:* request; never throws. */
export function decodeRtc(type: string, data: unknown, requestId?: string): Decoded {
  const ctx = requestId === undefined ? { context: type } : { context: type, requestId };
  // Own keys only: `constructor` or `__proto__` must not find Object's members.
  const decode = Object.hasOwn(rtcDecoders, type) ? rtcDecoders[type as RtcCommandType] : null;
  if (!decode) return { ok: false, error: AppError.unknownType(type), ...ctx };
  try {
    const command = decode(data ?? {});
    return requestId === undefined ? { ok: true, command } : { ok: true, command, requestId };
  } catch (err) {
    return {
      ok: false,
      error: err instanceof AppError ? err : AppError.badRequest('bad data'),
      ...ctx,
    };
  }
}

/** The answer to a decoded request. */
export function rtcResponse(decoded: Extract<Decoded, { ok: true }>, result: unknown): RtcResponse {
  const type = RESPONSE_TYPE[decoded.command.type as RtcCommandType] ?? 'ok';
  const data = result ?? {};
  return decoded.requestId === undefined
    ? { type, data }
    : { type, requestId: decoded.requestId, data };
}

/** The error answer. */
export function rtcError(error: ErrorBody, requestId?: string, request?: string): RtcErrorResponse {
  return {
    type: 'rtc:error',
    ...(requestId === undefined ? {} : { requestId }),
    ...(request === undefined ? {} : { request }),
    error: error.message,
    code: meetingCode(error),
  };
}

/** An event's type and data (the data is the event without its type). */
export function rtcEvent(event: RtcEvent): {
  type: RtcEvent['type'];
  data: Omit<RtcEvent, 'type'>;
} {
  const { type, ...data } = event;
  return { type, data };
}

const envelope = validator(
  Type.Object({
    type: Type.String({ minLength: 1, maxLength: 64 }),
    data: Type.Optional(Type.Unknown()),
    requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  }),
);

/** The `requestId` of a request object when it is a usable one (1 to 128 characters). */
export function requestIdOf(raw: unknown): string | undefined {
  const id =
    typeof raw === 'object' && raw !== null
      ? (raw as Record<string, unknown>).requestId
      : undefined;
  return typeof id === 'string' && id.length >= 1 && id.length <= 128 ? id : undefined;
}

/** The meeting dialect on `/ws/meeting` (stateless). Shows only rtc:* events. */
export const meetingDialect: Dialect = {
  name: 'meeting',
  meetingOnly: true,

  decode(data, isBinary): Decoded {
    let requestId: string | undefined;
    try {
      const raw = parseJson(data, isBinary);
      // Taken before validation, so that a malformed request is still answered by its id.
      requestId = requestIdOf(raw);
      assertBoundedValue(raw);
      const env = envelope(raw);
      return decodeRtc(env.type, env.data, requestId);
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.badRequest('malformed frame');
      return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
    }
  },

  peek(data) {
    const { requestId, type } = peekMembers(data, ['requestId', 'type']);
    return { ...(requestId ? { requestId } : {}), ...(type ? { context: type } : {}) };
  },

  encodeEvent(event: ServerEvent): WireFrame | null {
    return isRtcEvent(event) ? JSON.stringify(rtcEvent(event)) : null;
  },

  encodeResult(decoded, result): WireFrame {
    return JSON.stringify(rtcResponse(decoded, result));
  },

  encodeError(error: ErrorBody, requestId?: string, context?: string): WireFrame {
    return JSON.stringify(rtcError(error, requestId, context));
  },
};
