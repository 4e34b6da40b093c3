import { Hono, type Context } from 'hono';
import { Type } from '@sinclair/typebox';
import { AppError, SAFE_TEXT_PATTERN, isValidId } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import { NICKNAME_MAX_LENGTH, type MeetingService } from '../meetings/index.ts';
import { body } from './body.ts';
import type { Operations } from './openapi.ts';
import {
  IceServersSchema,
  MeetingSchema,
  MeetingViewSchema,
  ParticipantSchema,
} from './schemas.ts';
import { bearer, ok, type AuthVars } from './rest.ts';

/** Free text that is stored: bounded, and no character the store refuses (docs/protocol.md). */
const Text = (minLength: number, maxLength: number) =>
  Type.String({ minLength, maxLength, pattern: SAFE_TEXT_PATTERN });

const CreateBody = Type.Object({ title: Type.Optional(Text(0, 200)) });
const JoinBody = Type.Object({ nickname: Type.Optional(Text(1, NICKNAME_MAX_LENGTH)) });
const createBody = body(CreateBody);
const joinBody = body(JoinBody);

const LeftSchema = Type.Object({ meetingId: Type.String(), leftAt: Type.String() });
const EndedSchema = Type.Object({
  meetingId: Type.String(),
  endedBy: Type.String(),
  endedAt: Type.String(),
});

/** The meeting routes as the OpenAPI document shows them. */
export const MEETING_OPS: Operations = {
  'POST /': {
    summary: 'Create a meeting (the caller hosts it)',
    tag: 'meetings',
    access: 'user',
    body: CreateBody,
    response: MeetingSchema,
    errors: [400],
  },
  'GET /:meetingId': {
    summary: 'A meeting and the people in it now',
    tag: 'meetings',
    access: 'user',
    response: MeetingViewSchema,
    errors: [400, 404],
  },
  'POST /:meetingId/join': {
    summary: 'Join a meeting (then rtc:join on a signaling connection)',
    tag: 'meetings',
    access: 'user',
    body: JoinBody,
    response: ParticipantSchema,
    errors: [400, 404, 410],
  },
  'POST /:meetingId/leave': {
    summary: 'Leave a meeting',
    tag: 'meetings',
    access: 'user',
    response: LeftSchema,
    errors: [400, 403, 404, 410],
  },
  'POST /:meetingId/end': {
    summary: 'End a meeting (its host only)',
    tag: 'meetings',
    access: 'user',
    response: EndedSchema,
    errors: [400, 403, 404, 410],
  },
  'GET /:meetingId/media-config': {
    summary: "A participant's ICE servers for the meeting",
    tag: 'meetings',
    access: 'user',
    response: IceServersSchema,
    errors: [400, 403, 404, 410],
  },
};

/** The `:meetingId` of the path, if it is an id at all (40001 otherwise). */
function meetingIdOf(c: Context): string {
  const id = c.req.param('meetingId');
  if (!isValidId(id)) throw AppError.badRequest('meetingId is not a valid id');
  return id;
}

/**
 * Meetings (REQ-002) and their media configuration, all with a Bearer token:
 * `POST /api/meetings`, `GET /:meetingId`, `POST /:meetingId/join|leave|end`,
 * `GET /:meetingId/media-config`. Errors: 40401/404, 40301/403, 41001/410, 40001/400.
 */
export function meetingRoutes(auth: Authenticator, meetings: MeetingService): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', bearer(auth));
  app.post('/', async (c) => {
    const { title } = await createBody(c);
    return ok(c, await meetings.create(c.get('identity'), title ?? null));
  });
  app.get('/:meetingId', async (c) => ok(c, await meetings.get(meetingIdOf(c))));
  app.post('/:meetingId/join', async (c) => {
    const { nickname } = await joinBody(c);
    return ok(c, await meetings.join(c.get('identity'), meetingIdOf(c), nickname));
  });
  app.post('/:meetingId/leave', async (c) =>
    ok(c, await meetings.leave(c.get('identity'), meetingIdOf(c))),
  );
  app.post('/:meetingId/end', async (c) =>
    ok(c, await meetings.end(c.get('identity'), meetingIdOf(c))),
  );
  app.get('/:meetingId/media-config', async (c) =>
    ok(c, await meetings.mediaConfig(c.get('identity'), meetingIdOf(c))),
  );
  return app;
}
