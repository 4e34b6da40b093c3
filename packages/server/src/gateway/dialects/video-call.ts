import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  AppError,
  assertBoundedValue,
  type CallSelector,
  type Command,
  type EndReason,
  type ErrorBody,
  type ServerEvent,
  isCallEvent,
  sdpJson,
} from '@parley/protocol';
import type { Sender } from '../../core/index.ts';
import type { Decoded, Dialect, WireFrame } from '../dialect.ts';
import { jsonText, keepLiterals, parseText, validator, withLiteral } from '../json.ts';
import { Candidate, Id, SdpText } from './fields.ts';

/**
 * video_call on `/ws/video-call`, exactly as specs/video-call-json.md:
 * `{"type":"video_call","data":{"type":..., "caller_userid":..., "callee_userid":...}}`.
 * Calls are named by their two parties; the authenticated sender must be one of them (and the
 * caller for call_request, the callee for call_accept/call_reject). Extra fields Parley adds
 * (`call_id`, `media`, `reason`, ...) are documented in docs/protocol.md.
 */

const Parties = {
  caller_userid: Id,
  callee_userid: Id,
  /** Optional extension: names the call exactly when a pair has more than one. */
  call_id: Type.Optional(Id),
};

const envelope = validator(
  Type.Object({
    type: Type.Literal('video_call'),
    data: Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }),
  }),
);

type Pair = { caller_userid: string; callee_userid: string; call_id?: string | undefined };

const select = (p: Pair): CallSelector =>
  p.call_id ? { callId: p.call_id } : { caller: p.caller_userid, callee: p.callee_userid };

function mustBe(user: string, sender: Sender, role: string): void {
  if (user !== sender.userId) throw AppError.forbidden(`${role} must be the authenticated user`);
}

function mustBeParty(p: Pair, sender: Sender): void {
  if (p.caller_userid !== sender.userId && p.callee_userid !== sender.userId) {
    throw AppError.forbidden('sender is neither caller_userid nor callee_userid');
  }
}

const PairOnly = Type.Object(Parties);

const decoders: Record<string, (data: unknown, sender: Sender) => Command> = {
  call_request: checked(
    Type.Object({
      ...Parties,
      media: Type.Optional(Type.Union([Type.Literal('audio'), Type.Literal('video')])),
      keep_calling: Type.Optional(Type.Boolean()),
    }),
    (x, sender) => {
      mustBe(x.caller_userid, sender, 'caller_userid');
      return {
        type: 'call:invite',
        callee: x.callee_userid,
        media: x.media ?? 'video',
        keepCalling: x.keep_calling ?? false,
      };
    },
  ),
  call_accept: answer('call:accept'),
  call_reject: answer('call:reject'),
  no_answer: hangup('no_answer'),
  call_end: hangup(),
  rtc_offer: sdp('call:offer', 'offer'),
  rtc_answer: sdp('call:answer', 'answer'),
  rtc_ice_candidate: checked(Type.Object({ ...Parties, candidate: Candidate }), (x, sender) => {
    mustBeParty(x, sender);
    return { type: 'call:ice', call: select(x), candidate: x.candidate };
  }),
  handled_answer: checked(PairOnly, (x, sender) => {
    mustBeParty(x, sender);
    return { type: 'call:handled', call: select(x) };
  }),
};

/** A compiled schema plus a builder that also sees the sender (for identity checks). */
function checked<T extends TSchema>(
  schema: T,
  build: (value: Static<T>, sender: Sender) => Command,
): (data: unknown, sender: Sender) => Command {
  const check = validator(schema);
  return (data, sender) => build(check(data), sender);
}

function answer(type: 'call:accept' | 'call:reject') {
  return checked(PairOnly, (x, sender) => {
    mustBe(x.callee_userid, sender, 'callee_userid');
    return { type, call: select(x) };
  });
}

function hangup(reason?: 'no_answer') {
  return checked(PairOnly, (x, sender) => {
    mustBeParty(x, sender);
    return reason
      ? { type: 'call:hangup', call: select(x), reason }
      : { type: 'call:hangup', call: select(x) };
  });
}

function sdp(type: 'call:offer' | 'call:answer', sdpType: string) {
  const schema = Type.Object({
    ...Parties,
    sdp: SdpText,
    sdp_type: Type.Optional(Type.Literal(sdpType)),
  });
  return checked(schema, (x, sender) => {
    mustBeParty(x, sender);
    return { type, call: select(x), sdp: x.sdp };
  });
}

/** How an end reason is told in video_call: the spec's types, with `reason` as the extension. */
const END_TYPE: Record<EndReason, 'call_reject' | 'no_answer' | 'call_end'> = {
  rejected: 'call_reject',
  busy: 'call_reject',
  no_answer: 'no_answer',
  offline: 'no_answer',
  cancelled: 'call_end',
  hangup: 'call_end',
  disconnected: 'call_end',
  failed: 'call_end',
  shutdown: 'call_end',
  node_lost: 'call_end',
  node_restart: 'call_end',
  admin: 'call_end',
};

/** The frame type and the sdp_type of a relayed offer or answer. */
const SDP_OFFER = ['rtc_offer', 'offer'] as const;
const SDP_ANSWER = ['rtc_answer', 'answer'] as const;

const frame = (data: Record<string, unknown>): string =>
  JSON.stringify({ type: 'video_call', data });

/** The video_call dialect (stateless). */
export const videoCallDialect: Dialect = {
  name: 'video_call',

  decode(data, isBinary, sender): Decoded {
    let context: string | undefined;
    try {
      const text = jsonText(data, isBinary);
      const raw = parseText(text);
      assertBoundedValue(raw);
      const env = envelope(raw);
      context = env.data.type;
      const decode = Object.hasOwn(decoders, context) ? decoders[context] : undefined;
      if (!decode) throw AppError.unknownType(context);
      const command = decode(env.data, sender);
      keepLiterals(command, data, text);
      return { ok: true, command, context };
    } catch (err) {
      const error = err instanceof AppError ? err : AppError.badRequest('malformed frame');
      return context === undefined ? { ok: false, error } : { ok: false, error, context };
    }
  },

  encodeEvent(e: ServerEvent): WireFrame | null {
    // Rooms and chat have no video_call shape.
    if (!isCallEvent(e)) return null;
    if (e.type === 'call:record') {
      const r = e.record;
      return frame({
        type: 'call_record',
        call_id: r.callId,
        caller_userid: r.caller,
        callee_userid: r.callee,
        media: r.media,
        status: r.status,
        reason: r.reason,
        created_at: r.createdAt,
        started_at: r.startedAt,
        ended_at: r.endedAt,
        duration: r.duration,
        ring_ms: r.ringMs,
      });
    }
    const p = { caller_userid: e.caller, callee_userid: e.callee, call_id: e.callId };
    switch (e.type) {
      case 'call:incoming':
        return frame({ type: 'call_request', ...p, media: e.media, caller_name: e.callerName });
      case 'call:ringing':
        return null;
      case 'call:accepted':
        return frame({ type: 'call_accept', ...p, from_client_type: e.by.clientType });
      case 'call:answered_elsewhere':
        return frame({
          type: 'handled_answer',
          ...p,
          accepted: e.accepted,
          from_client_type: e.fromClientType,
          timetag: e.timetag,
        });
      case 'call:handled':
        return frame({ type: 'handled_answer', ...p });
      case 'call:ended':
        return frame({ type: END_TYPE[e.reason], ...p, reason: e.reason });
      case 'call:offer':
      case 'call:answer': {
        const [type, sdpType] = e.type === 'call:offer' ? SDP_OFFER : SDP_ANSWER;
        // The sender's own SDP literal when its dialect kept it (see `sdpJson`).
        const literal = e[sdpJson];
        if (!literal) return frame({ type, ...p, sdp: e.sdp, sdp_type: sdpType });
        return withLiteral(frame({ type, ...p }), 'sdp', literal, `,"sdp_type":"${sdpType}"`);
      }
      case 'call:ice':
        return frame({ type: 'rtc_ice_candidate', ...p, candidate: e.candidate });
    }
  },

  encodeResult(decoded, result, recipient): WireFrame | null {
    // Glare: this call_request answered the reverse call that was ringing the sender. Tell it
    // as its peer is told, with call_accept of that call (in which the sender is the callee).
    const r = result as { callId?: string; glare?: true } | undefined;
    if (decoded.command.type !== 'call:invite' || !r?.glare || !recipient) return null;
    return frame({
      type: 'call_accept',
      caller_userid: decoded.command.callee,
      callee_userid: recipient.userId,
      call_id: r.callId,
      from_client_type: recipient.clientType,
      glare: true,
    });
  },

  encodeError(error: ErrorBody, _requestId?: string, context?: string): WireFrame {
    return frame({
      type: 'error',
      code: error.code,
      message: error.message,
      ...(context ? { request_type: context } : {}),
      ...(error.details ? { details: error.details } : {}),
    });
  },
};
