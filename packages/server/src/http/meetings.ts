import { Hono, type Context } from 'hono';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { MeetingService } from '../meetings/index.ts';
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
    throw AppError.badRequest(`invalid field ${first?.path || '/'}: ${first?.message ?? ''}`, {
      field: first?.path || '/',
    });
  };
}

const createBody = body(Type.Object({ title: Type.Optional(Type.String({ maxLength: 200 })) }));
const joinBody = body(
  Type.Object({ nickname: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }),
);

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
  app.get('/:meetingId', async (c) => ok(c, await meetings.get(c.req.param('meetingId'))));
  app.post('/:meetingId/join', async (c) => {
    const { nickname } = await joinBody(c);
    return ok(c, await meetings.join(c.get('identity'), c.req.param('meetingId'), nickname));
  });
  app.post('/:meetingId/leave', async (c) =>
    ok(c, await meetings.leave(c.get('identity'), c.req.param('meetingId'))),
  );
  app.post('/:meetingId/end', async (c) =>
    ok(c, await meetings.end(c.get('identity'), c.req.param('meetingId'))),
  );
  app.get('/:meetingId/media-config', async (c) =>
    ok(c, await meetings.mediaConfig(c.get('identity'), c.req.param('meetingId'))),
  );
  return app;
}
