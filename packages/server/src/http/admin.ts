import { Hono, type Context } from 'hono';
import { Type } from '@sinclair/typebox';
import { decodeJwt, type JWTPayload } from 'jose';
import { AppError, isValidId } from '@parley/protocol';
import type { AdminService } from '../admin/index.ts';
import type { Authenticator } from '../auth/index.ts';
import type { Revocation } from '../core/index.ts';
import { adminGuard } from './admin-guard.ts';
import { body } from './body.ts';
import type { Operations } from './openapi.ts';
import { ok, type AuthVars } from './rest.ts';
import {
  LiveCallSchema,
  MediaPeerSchema,
  MeetingViewSchema,
  Next,
  OnlineUserSchema,
  PageQuery,
} from './schemas.ts';

/** Items per page unless `limit` says otherwise, and the most a page holds. */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** How long a revoked id is kept when the token's expiry is not given: longer than any token. */
const JTI_KEEP_MS = 30 * 24 * 3600_000;
/** How far ahead of now a user's cut-off may be (clocks differ a little). */
const CUTOFF_SKEW_MS = 60_000;

const Iso = (description: string) => Type.String({ maxLength: 40, description });
const RevokeBody = Type.Union([
  Type.Object(
    {
      jti: Type.String({ minLength: 1, maxLength: 256 }),
      expiresAt: Type.Optional(Iso('ISO time the token expires (default: in 30 days)')),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      userId: Type.String({ minLength: 1, maxLength: 128 }),
      before: Type.Optional(Iso('ISO time: tokens issued before it (default: now)')),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { token: Type.String({ minLength: 1, maxLength: 8192 }) },
    { additionalProperties: false },
  ),
]);
const MuteBody = Type.Object({
  allowUnmute: Type.Optional(
    Type.Boolean({ description: 'whether its owner may resume it (default: false)' }),
  ),
});
const revokeBody = body(RevokeBody);
const muteBody = body(MuteBody);

const RevokedSchema = Type.Object({
  kind: Type.Union([Type.Literal('jti'), Type.Literal('user')]),
  jti: Type.Optional(Type.String()),
  userId: Type.Optional(Type.String()),
  expiresAt: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
  closed: Type.Integer({ description: "this node's sockets closed (others close theirs too)" }),
});

const admin = (o: Omit<Operations[string], 'tag' | 'access'>) =>
  ({ ...o, tag: 'admin', access: 'admin' }) as const;

/** The admin routes as the OpenAPI document shows them. */
export const ADMIN_OPS: Operations = {
  'GET /calls': admin({
    summary: 'Live calls on every node, oldest first',
    query: PageQuery(MAX_LIMIT),
    response: Type.Object({
      calls: Type.Array(LiveCallSchema),
      next: Next,
      unreachable: Type.Array(Type.String(), {
        description: 'nodes that did not answer: their calls are missing from the page',
      }),
    }),
    errors: [400, 503],
  }),
  'POST /calls/:callId/end': admin({
    summary: "End a live call (reason `admin`; its parties hear it in their dialect's terms)",
    response: Type.Object({ callId: Type.String(), reason: Type.String() }),
    errors: [400, 404, 503],
  }),
  'GET /meetings': admin({
    summary: 'Active meetings and who is in them',
    query: PageQuery(MAX_LIMIT),
    response: Type.Object({ meetings: Type.Array(MeetingViewSchema), next: Next }),
    errors: [400],
  }),
  'GET /meetings/:meetingId': admin({
    summary: 'A meeting, its participants and its media peers with their producers',
    response: Type.Composite([
      MeetingViewSchema,
      Type.Object({ peers: Type.Array(MediaPeerSchema) }),
    ]),
    errors: [400, 404, 503],
  }),
  'POST /meetings/:meetingId/end': admin({
    summary: 'End a meeting as its host could',
    response: Type.Object({
      meetingId: Type.String(),
      endedBy: Type.String(),
      endedAt: Type.String(),
    }),
    errors: [400, 404, 410, 503],
  }),
  'POST /meetings/:meetingId/participants/:userId/remove': admin({
    summary: 'Remove a participant from a meeting (their peers hear rtc:left)',
    response: Type.Object({ meetingId: Type.String(), leftAt: Type.String() }),
    errors: [400, 404, 410, 503],
  }),
  'POST /meetings/:meetingId/producers/:producerId/mute': admin({
    summary: "Pause a participant's producer server-side; its owner may resume it only if allowed",
    description:
      "Everyone in the meeting hears rtc:producerPaused. Without allowUnmute the owner's " +
      "rtc:resumeProducer is refused with `forbidden` (details.reason 'muted_by_admin'); muting " +
      'again with allowUnmute true lets them resume.',
    body: MuteBody,
    response: Type.Object({
      producerId: Type.String(),
      peerId: Type.String(),
      allowUnmute: Type.Boolean(),
    }),
    errors: [400, 404, 503],
  }),
  'GET /users': admin({
    summary: 'Online users by id, with their devices and the node each is on',
    query: PageQuery(MAX_LIMIT),
    response: Type.Object({ users: Type.Array(OnlineUserSchema), next: Next }),
    errors: [400, 503],
  }),
  'POST /users/:userId/devices/:deviceId/disconnect': admin({
    summary: 'Disconnect one device (WebSocket close 4012; it does not resume)',
    response: Type.Object({
      userId: Type.String(),
      deviceId: Type.String(),
      disconnected: Type.Boolean(),
    }),
    errors: [400, 404, 503],
  }),
  'POST /revocations': admin({
    summary:
      'Revoke a token (by jti, or the whole token) or every token of a user issued before a time',
    description:
      'Every node refuses the tokens from then on (401) and closes the sockets opened with ' +
      'them within a second: WebSocket close 4011, socket.io `session:closed` then disconnect.',
    body: RevokeBody,
    response: RevokedSchema,
    errors: [400, 503],
  }),
};

/** `?limit=&cursor=` of a list, bounded (40001 otherwise). */
function pageOf(c: Context): { limit: number; cursor: string | undefined } {
  const limit = Number(c.req.query('limit') ?? DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw AppError.badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return { limit, cursor: c.req.query('cursor') };
}

/** A path parameter that must be an id (40001 otherwise). */
function idOf(c: Context, name: string): string {
  const id = c.req.param(name);
  if (!isValidId(id)) throw AppError.badRequest(`${name} is not a valid id`);
  return id;
}

/** An ISO time of the body, or `fallback` when absent (40001 when it is not a time). */
function timeOf(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw AppError.badRequest(`${field} is not an ISO time`, { field });
  return ms;
}

/** What a revocation request names, as a Revocation. */
function revocationOf(b: (typeof RevokeBody)['static'], now: number): Revocation {
  if ('jti' in b) {
    return {
      kind: 'jti',
      jti: b.jti,
      expiresAt: timeOf(b.expiresAt, 'expiresAt', now + JTI_KEEP_MS),
    };
  }
  if ('userId' in b) {
    if (!isValidId(b.userId)) throw AppError.badRequest('userId is not a valid id');
    const before = timeOf(b.before, 'before', now);
    if (before > now + CUTOFF_SKEW_MS) throw AppError.badRequest('before is in the future');
    return { kind: 'user', userId: b.userId, before };
  }
  let claims: JWTPayload;
  try {
    claims = decodeJwt(b.token);
  } catch {
    throw AppError.badRequest('token is not a JWT');
  }
  if (typeof claims.jti !== 'string') {
    throw AppError.badRequest("the token has no jti: revoke its user's tokens with userId");
  }
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : now + JTI_KEEP_MS;
  return { kind: 'jti', jti: claims.jti, expiresAt: exp };
}

/** A revocation as the API answers it (times in ISO). */
function shown(r: Revocation, closed: number) {
  return r.kind === 'jti'
    ? { kind: r.kind, jti: r.jti, expiresAt: new Date(r.expiresAt).toISOString(), closed }
    : { kind: r.kind, userId: r.userId, before: new Date(r.before).toISOString(), closed };
}

/**
 * `/api/admin/*`: live calls, meetings and users of the whole cluster, and what an operator
 * does to them (end, remove, mute, disconnect, revoke). Only for tokens with the admin grant.
 */
export function adminRoutes(
  auth: Authenticator,
  service: AdminService,
  clock: () => number = Date.now,
): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', ...adminGuard(auth));
  app.get('/calls', async (c) => ok(c, await service.calls(pageOf(c))));
  app.post('/calls/:callId/end', async (c) => ok(c, await service.endCall(idOf(c, 'callId'))));
  app.get('/meetings', async (c) => ok(c, await service.meetings(pageOf(c))));
  app.get('/meetings/:meetingId', async (c) => ok(c, await service.meeting(idOf(c, 'meetingId'))));
  app.post('/meetings/:meetingId/end', async (c) =>
    ok(c, await service.endMeeting(c.get('identity'), idOf(c, 'meetingId'))),
  );
  app.post('/meetings/:meetingId/participants/:userId/remove', async (c) =>
    ok(c, await service.removeParticipant(idOf(c, 'meetingId'), idOf(c, 'userId'))),
  );
  app.post('/meetings/:meetingId/producers/:producerId/mute', async (c) => {
    const { allowUnmute } = await muteBody(c);
    const [meetingId, producerId] = [idOf(c, 'meetingId'), idOf(c, 'producerId')];
    return ok(c, await service.mute(meetingId, producerId, allowUnmute ?? false));
  });
  app.get('/users', async (c) => ok(c, await service.users(pageOf(c))));
  app.post('/users/:userId/devices/:deviceId/disconnect', async (c) =>
    ok(c, await service.disconnect(idOf(c, 'userId'), idOf(c, 'deviceId'))),
  );
  app.post('/revocations', async (c) => {
    const r = revocationOf(await revokeBody(c), clock());
    const { closed } = await service.revoke(r);
    return ok(c, shown(r, closed));
  });
  return app;
}
