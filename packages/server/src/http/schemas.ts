import { Type, type TSchema } from '@sinclair/typebox';
import { END_REASONS } from '@parley/protocol';

/** The response schemas the OpenAPI document shows (the shapes the REST routes answer). */

const Iso = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Device = Type.Object({
  userId: Type.String(),
  deviceId: Type.String(),
  clientType: Type.String(),
});

/** A page's `next`: the cursor of the following page, or null on the last. */
export const Next = Nullable(Type.String());

/** `limit` and `cursor` of a paged list. */
export const PageQuery = (max: number) =>
  Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: max })),
    cursor: Type.Optional(Type.String()),
  });

export const CallRecordSchema = Type.Object({
  callId: Type.String(),
  caller: Type.String(),
  callee: Type.String(),
  media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  status: Type.Union(
    ['completed', 'missed', 'rejected', 'busy', 'cancelled', 'failed'].map((s) => Type.Literal(s)),
  ),
  reason: Type.Union(END_REASONS.map((r) => Type.Literal(r))),
  createdAt: Iso,
  startedAt: Nullable(Iso),
  endedAt: Iso,
  duration: Type.Integer(),
  ringMs: Type.Integer(),
  answeredBy: Nullable(Type.Object({ deviceId: Type.String(), clientType: Type.String() })),
  mediaConnectedAt: Nullable(Iso),
  mediaFailedReason: Nullable(Type.String()),
});

export const RecordPageSchema = Type.Object({ records: Type.Array(CallRecordSchema), next: Next });

export const MeetingSchema = Type.Object({
  meetingId: Type.String(),
  title: Nullable(Type.String()),
  hostId: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('ended')]),
  createdAt: Iso,
  endedAt: Nullable(Iso),
  endedBy: Nullable(Type.String()),
});

export const ParticipantSchema = Type.Object({
  meetingId: Type.String(),
  userId: Type.String(),
  nickname: Type.String(),
  role: Type.Union([Type.Literal('host'), Type.Literal('participant')]),
  joinedAt: Iso,
  leftAt: Nullable(Iso),
});

export const MeetingViewSchema = Type.Composite([
  MeetingSchema,
  Type.Object({ participants: Type.Array(ParticipantSchema) }),
]);

export const IceServersSchema = Type.Object({
  iceServers: Type.Array(
    Type.Object({
      urls: Type.Union([Type.String(), Type.Array(Type.String())]),
      username: Type.Optional(Type.String()),
      credential: Type.Optional(Type.String()),
    }),
  ),
});

export const PresencePageSchema = Type.Object({
  users: Type.Array(
    Type.Object({ userId: Type.String(), name: Type.String(), devices: Type.Integer() }),
  ),
  next: Next,
});

export const LiveCallSchema = Type.Object({
  callId: Type.String(),
  media: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  caller: Device,
  callee: Type.String(),
  phase: Type.Union([Type.Literal('ringing'), Type.Literal('accepted'), Type.Literal('ended')]),
  answeredBy: Nullable(Device),
  createdAt: Iso,
  acceptedAt: Nullable(Iso),
  node: Type.String({ description: 'the node that owns the call' }),
});

export const OnlineUserSchema = Type.Object({
  userId: Type.String(),
  name: Type.String(),
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      clientType: Type.String(),
      node: Type.String(),
      connectedAt: Iso,
    }),
  ),
});

export const MediaPeerSchema = Type.Object({
  peerId: Type.String(),
  userId: Type.String(),
  nickname: Type.String(),
  producers: Type.Array(
    Type.Object({
      id: Type.String(),
      kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
      paused: Type.Boolean(),
      appData: Type.Unknown(),
    }),
  ),
  dataProducers: Type.Array(Type.Unknown()),
});

/** The REST error envelope (see docs/protocol.md for the numeric codes). */
export const ErrorSchema = Type.Object({
  code: Type.Integer({ description: 'HTTP status × 100 + a serial, e.g. 40301' }),
  message: Type.String(),
  error: Type.String({ description: "the canonical error code, e.g. 'forbidden'" }),
});

/** `{code: 0, message: "success", data}` around `data`. */
export const Envelope = (data: TSchema) =>
  Type.Object({ code: Type.Literal(0), message: Type.Literal('success'), data });
