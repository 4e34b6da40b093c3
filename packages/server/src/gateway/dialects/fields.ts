import { Type } from '@sinclair/typebox';
import { ID_MAX_LENGTH, SAFE_TEXT_PATTERN } from '@parley/protocol';

/** Schemas shared by the JSON dialects. */

/** A user id, call id or other identifier (the id set of docs/protocol.md). */
export const Id = Type.String({
  minLength: 1,
  maxLength: ID_MAX_LENGTH,
  pattern: SAFE_TEXT_PATTERN,
});

/** The bounds of an ICE candidate's members: the longest strings, the largest m-line index. */
export const CandidateLimits = {
  candidate: 4096,
  sdpMid: 64,
  sdpMLineIndex: 1024,
  usernameFragment: 256,
} as const;

/** RTCIceCandidateInit, or null for end-of-candidates. */
export const Candidate = Type.Union([
  Type.Null(),
  Type.Object({
    candidate: Type.String({ maxLength: CandidateLimits.candidate }),
    sdpMid: Type.Optional(
      Type.Union([Type.String({ maxLength: CandidateLimits.sdpMid }), Type.Null()]),
    ),
    sdpMLineIndex: Type.Optional(
      Type.Union([
        Type.Integer({ minimum: 0, maximum: CandidateLimits.sdpMLineIndex }),
        Type.Null(),
      ]),
    ),
    usernameFragment: Type.Optional(
      Type.Union([Type.String({ maxLength: CandidateLimits.usernameFragment }), Type.Null()]),
    ),
  }),
]);

/** An SDP body. */
export const SdpText = Type.String({ minLength: 1 });
