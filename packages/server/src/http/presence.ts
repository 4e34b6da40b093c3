import { Hono } from 'hono';
import { AppError } from '@parley/protocol';
import { granted, type Authenticator, type Identity } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import type { Operations } from './openapi.ts';
import { bearer, fail, ok, type AuthVars } from './rest.ts';
import { PageQuery, PresencePageSchema } from './schemas.ts';

/** Users per page unless `limit` says otherwise, and the most a page holds. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

type OnlineUser = { userId: string; name: string; devices: number };

/** The page cursor: the (name, userId) of the last user of the previous page. */
const encodeCursor = (u: OnlineUser) =>
  Buffer.from(JSON.stringify([u.name, u.userId])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string')) {
      return v as [string, string];
    }
  } catch {
    // not JSON: reported below
  }
  throw AppError.badRequest('cursor is not one this server gave');
}

const byNameThenId = (a: OnlineUser, b: OnlineUser) =>
  a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId);

/**
 * Whom `who` may see: everyone (`scope` all), or with `contacts` the users their token grants
 * as `contact:<id or pattern>` (everyone with `presence:all`), and always themselves.
 */
function visibleTo(who: Identity, scope: Config['rest']['presenceScope']) {
  if (scope === 'all' || who.grants.includes('presence:all')) return () => true;
  return (u: OnlineUser) => u.userId === who.userId || granted(who.grants, 'contact', u.userId);
}

/** The presence route as the OpenAPI document shows it. */
export const PRESENCE_OPS: Operations = {
  'GET /': {
    summary: 'The online users the caller may see, by nickname',
    tag: 'presence',
    access: 'user',
    query: PageQuery(MAX_LIMIT),
    response: PresencePageSchema,
    errors: [400],
  },
};

/**
 * `GET /api/presence?limit=&cursor=`: the online users the caller may see (see visibleTo), by
 * nickname, a page at a time: `{ users: [{userId, name, devices}], next }`, `next` the cursor of
 * the following page or null.
 */
export function presenceRoutes(
  auth: Authenticator,
  directory: PresenceDirectory,
  scope: Config['rest']['presenceScope'] = 'all',
): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', bearer(auth));
  app.get('/', async (c) => {
    const limit = Number(c.req.query('limit') ?? DEFAULT_LIMIT);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      return fail(c, AppError.badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`));
    }
    const cursor = c.req.query('cursor');
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const visible = visibleTo(c.get('identity'), scope);
    const users = (await directory.users())
      .filter(
        (u) =>
          visible(u) &&
          (after === undefined ||
            byNameThenId(u, { name: after[0], userId: after[1], devices: 0 }) > 0),
      )
      .sort(byNameThenId);
    const page = users.slice(0, limit);
    const next = users.length > limit ? encodeCursor(page[page.length - 1]!) : null;
    return ok(c, { users: page, next });
  });
  return app;
}
