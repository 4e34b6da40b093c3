import { Hono } from 'hono';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, SAFE_TEXT_PATTERN } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Operations } from './openapi.ts';
import { ok } from './rest.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Whether `POST /api/dev/token` is served: as configured (`PARLEY_DEV_LOGIN`), else only for a
 * local setup, where the server generated its own secret (no external issuer can be meant) and
 * listens on loopback (nobody else can reach it).
 */
export function devLoginEnabled(config: Pick<Config, 'auth' | 'server'>): boolean {
  const { auth, server } = config;
  return auth.devLogin ?? (!auth.jwtSecret && !auth.jwksUrl && LOOPBACK.has(server.host));
}

const TokenBodySchema = Type.Object({
  userId: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$' }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: SAFE_TEXT_PATTERN })),
});
const TokenBody = TypeCompiler.Compile(TokenBodySchema);

/** The dev sign-in as the OpenAPI document shows it (served only when devLoginEnabled). */
export const DEV_OPS: Operations = {
  'POST /token': {
    summary: 'Sign in as anyone (local setups only: see PARLEY_DEV_LOGIN)',
    tag: 'dev',
    access: 'public',
    body: TokenBodySchema,
    response: Type.Object({ token: Type.String(), userId: Type.String(), name: Type.String() }),
    errors: [400, 429],
  },
};

/**
 * `POST /api/dev/token {userId, name?}` → `{token, userId, name}`: signs anyone in as anyone,
 * for trying Parley locally (the demo's sign-in). Mounted only when devLoginEnabled().
 */
export function devRoutes(auth: Authenticator): Hono {
  const app = new Hono();
  app.post('/token', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw AppError.badRequest('body is not valid JSON');
    }
    if (!TokenBody.Check(body)) {
      const first = TokenBody.Errors(body).First();
      throw AppError.badRequest(`invalid field ${first?.path || '/'}: ${first?.message ?? ''}`, {
        field: first?.path || '/',
      });
    }
    const name = body.name ?? body.userId;
    return ok(c, { token: await auth.mint(body.userId, { name }), userId: body.userId, name });
  });
  return app;
}
