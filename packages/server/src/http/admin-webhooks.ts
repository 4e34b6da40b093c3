import { Hono } from 'hono';
import { Type } from '@sinclair/typebox';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { Webhooks } from '../webhooks/index.ts';
import { adminGuard } from './admin-guard.ts';
import { body } from './body.ts';
import type { Operations } from './openapi.ts';
import { ok, type AuthVars } from './rest.ts';
import { Next } from './schemas.ts';

/** Dead letters per page unless `limit` says otherwise, and the most a page holds. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const ReplayBody = Type.Object(
  {
    endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    ids: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'dead letters to replay (default: all of the endpoint, or of every endpoint)',
      }),
    ),
  },
  { additionalProperties: false },
);
const replayBody = body(ReplayBody);

const DeadLetterSchema = Type.Object({
  id: Type.Integer(),
  endpoint: Type.String(),
  msgId: Type.String({ description: 'the `webhook-id` it was (and will be) sent with' }),
  type: Type.String(),
  createdAt: Type.String(),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  deadAt: Type.Union([Type.String(), Type.Null()]),
  payload: Type.String({ description: 'the exact body' }),
});

const admin = (o: Omit<Operations[string], 'tag' | 'access'>) =>
  ({ ...o, tag: 'admin', access: 'admin' }) as const;

/** The webhook admin routes as the OpenAPI document shows them. */
export const ADMIN_WEBHOOK_OPS: Operations = {
  'GET /': admin({
    summary: 'The webhook endpoints and how far behind each one is',
    response: Type.Object({
      endpoints: Type.Array(
        Type.Object({
          endpoint: Type.String(),
          pending: Type.Integer(),
          oldest: Type.Union([Type.Integer(), Type.Null()], {
            description: 'epoch ms of the oldest pending event',
          }),
        }),
      ),
    }),
  }),
  'GET /dead': admin({
    summary: 'Dead letters: events given up on after their retries, oldest first',
    query: Type.Object({
      endpoint: Type.Optional(Type.String()),
      after: Type.Optional(Type.Integer({ minimum: 1, description: 'the `next` of a page' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
    }),
    response: Type.Object({ deadLetters: Type.Array(DeadLetterSchema), next: Next }),
    errors: [400],
  }),
  'POST /dead/replay': admin({
    summary: 'Makes dead letters pending again; they are delivered in order with the rest',
    body: ReplayBody,
    response: Type.Object({ replayed: Type.Integer() }),
    errors: [400, 404],
  }),
};

/** A positive integer query parameter, `def` when absent; 40001 when not one. */
function intParam(raw: string | undefined, def: number | undefined, max: number, name: string) {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > max)
    throw AppError.badRequest(`${name} must be an integer from 1 to ${max}`);
  return n;
}

/**
 * `/api/admin/webhooks`: the endpoints and how far behind each is (GET /), the dead letters
 * (GET /dead?endpoint=&after=&limit=, paged by id) and their replay (POST /dead/replay with
 * `{endpoint?, ids?}`; neither: every dead letter).
 */
export function adminWebhookRoutes(
  auth: Authenticator,
  webhooks: Pick<Webhooks, 'endpoints' | 'depth' | 'deadLetters' | 'replay'>,
): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', ...adminGuard(auth));
  app.get('/', async (c) => ok(c, { endpoints: await webhooks.depth() }));
  app.get('/dead', async (c) => {
    const endpoint = c.req.query('endpoint');
    const limit = intParam(c.req.query('limit'), DEFAULT_LIMIT, MAX_LIMIT, 'limit')!;
    const afterId = intParam(c.req.query('after'), undefined, Number.MAX_SAFE_INTEGER, 'after');
    const letters = await webhooks.deadLetters({
      limit,
      ...(endpoint ? { endpoint } : {}),
      ...(afterId !== undefined ? { afterId } : {}),
    });
    const last = letters[letters.length - 1];
    return ok(c, {
      deadLetters: letters,
      next: letters.length === limit && last ? String(last.id) : null,
    });
  });
  app.post('/dead/replay', async (c) => {
    const replay = await replayBody(c);
    if (replay.endpoint !== undefined && !webhooks.endpoints.includes(replay.endpoint))
      throw AppError.notFound('webhook endpoint');
    return ok(c, { replayed: await webhooks.replay(replay) });
  });
  return app;
}
