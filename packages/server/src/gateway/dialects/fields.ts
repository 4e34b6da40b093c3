import { Type } from '@sinclair/typebox';
import { ID_MAX_LENGTH, SAFE_TEXT_PATTERN } from '@parley/protocol';

/** Schemas shared by the JSON dialects. */

/** A user id, call id or other identifier (the id set of docs/protocol.md). */
export const Id = Type.String({
  minLength: 1,
  maxLength: ID_MAX_LENGTH,
  pattern: SAFE_TEXT_PATTERN,
});

/** RTCIceCandidateInit, or null for end-of-candidates. */
export const Candidate = Type.Union([
  Type.Null(),
  Type.Object({
    candidate: Type.String({ maxLength: 4096 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 1024 }), Type.Null()]),
    ),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  }),
]);

/** An SDP body. */
export const SdpText = Type.String({ minLength: 1 });
