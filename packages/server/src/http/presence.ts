import { Hono } from 'hono';
import type { Authenticator } from '../auth/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import { bearer, ok, type AuthVars } from './rest.ts';

/** `GET /api/presence`: every online user with a nickname and a device count (contact lists). */
export function presenceRoutes(auth: Authenticator, directory: PresenceDirectory): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', bearer(auth));
  app.get('/', async (c) => {
    const users = await directory.users();
    users.sort((a, b) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId));
    return ok(c, { users });
  });
  return app;
}
