import { Hono } from 'hono';
import { AppError, isValidId } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { CallHistory } from '../core/index.ts';
import type { Operations } from './openapi.ts';
import { bearer, fail, ok, type AuthVars } from './rest.ts';
import { CallRecordSchema, PageQuery, RecordPageSchema } from './schemas.ts';

/** The call history routes as the OpenAPI document shows them. */
export const CALL_OPS: Operations = {
  'GET /': {
    summary: "The caller's ended calls, newest first",
    tag: 'calls',
    access: 'user',
    query: PageQuery(100),
    response: RecordPageSchema,
    errors: [400],
  },
  'GET /:callId': {
    summary: 'One ended call of the caller (its record)',
    tag: 'calls',
    access: 'user',
    response: CallRecordSchema,
    errors: [400, 404],
  },
};

/** `GET /api/calls` (own history, newest first, paged) and `GET /api/calls/:callId`. */
export function callRoutes(auth: Authenticator, records: CallHistory): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', bearer(auth));
  app.get('/', async (c) => {
    const limit = Number(c.req.query('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return fail(c, AppError.badRequest('limit must be an integer from 1 to 100'));
    }
    const page = await records.list(c.get('identity').userId, limit, c.req.query('cursor'));
    return ok(c, page);
  });
  app.get('/:callId', async (c) => {
    const callId = c.req.param('callId');
    if (!isValidId(callId)) return fail(c, AppError.badRequest('callId is not a valid id'));
    const record = await records.get(callId, c.get('identity').userId);
    return record ? ok(c, record) : fail(c, AppError.notFound('call'));
  });
  return app;
}
