import { Hono, type MiddlewareHandler } from 'hono';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { Webhooks } from '../webhooks/index.ts';
import { bearer, fail, ok, type AuthVars } from './rest.ts';

/** Only a token whose `grants` claim holds `admin` passes; any other is 403. */
export function adminOnly(): MiddlewareHandler<AuthVars> {
  return async (c, next) => {
    if (!c.get('identity').grants.includes('admin'))
      return fail(c, AppError.forbidden('this needs the admin grant'));
    await next();
    return undefined;
  };
}

const Replay = TypeCompiler.Compile(
  Type.Object(
    {
      endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 })),
    },
    { additionalProperties: false },
  ),
);

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
  app.use('*', bearer(auth), adminOnly());
  app.get('/', async (c) => ok(c, { endpoints: await webhooks.depth() }));
  app.get('/dead', async (c) => {
    const endpoint = c.req.query('endpoint');
    const limit = intParam(c.req.query('limit'), 100, 1000, 'limit')!;
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
    const text = await c.req.text();
    let body: unknown = {};
    try {
      if (text.trim() !== '') body = JSON.parse(text);
    } catch {
      return fail(c, AppError.badRequest('body is not valid JSON'));
    }
    if (!Replay.Check(body)) {
      const first = Replay.Errors(body).First();
      return fail(c, AppError.badRequest(`invalid field ${first?.path || '/'}: ${first?.message}`));
    }
    if (body.endpoint !== undefined && !webhooks.endpoints.includes(body.endpoint))
      return fail(c, AppError.notFound('webhook endpoint'));
    return ok(c, { replayed: await webhooks.replay(body) });
  });
  return app;
}
