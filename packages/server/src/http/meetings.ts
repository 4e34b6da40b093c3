import { Hono, type Context } from 'hono';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, SAFE_TEXT_PATTERN, isValidId } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import { NICKNAME_MAX_LENGTH, type MeetingService } from '../meetings/index.ts';
import { bearer, ok, type AuthVars } from './rest.ts';

/** A JSON body checked against a schema; an absent body is `{}`. 40001 when it does not fit. */
function body<T extends TSchema>(schema: T): (c: Context) => Promise<Static<T>> {
  const check = TypeCompiler.Compile(schema);
  return async (c) => {
    const text = await c.req.text();
    let value: unknown = {};
    if (text.trim() !== '') {
      try {
        value = JSON.parse(text);
      } catch {
        throw AppError.badRequest('body is not valid JSON');
      }
    }
    if (check.Check(value)) return value;
    const first = check.Errors(value).First();
    const message =
      first?.schema.pattern === SAFE_TEXT_PATTERN
        ? 'control characters are not allowed'
        : (first?.message ?? '');
    throw AppError.badRequest(`invalid field ${first?.path || '/'}: ${message}`, {
      field: first?.path || '/',
    });
  };
}

/** Free text that is stored: bounded, and no character the store refuses (docs/protocol.md). */
const Text = (minLength: number, maxLength: number) =>
  Type.String({ minLength, maxLength, pattern: SAFE_TEXT_PATTERN });

const createBody = body(Type.Object({ title: Type.Optional(Text(0, 200)) }));
const joinBody = body(Type.Object({ nickname: Type.Optional(Text(1, NICKNAME_MAX_LENGTH)) }));

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
