import type { MiddlewareHandler } from 'hono';
import { AppError } from '@parley/protocol';
import type { Authenticator } from '../auth/index.ts';
import { bearer, fail, type AuthVars } from './rest.ts';

/** The grant (in the token's `grants` claim) that opens `/api/admin/*`. */
export const ADMIN_GRANT = 'admin';

/**
 * Guards the admin API: no valid token 401, a token without the `admin` grant 403 (both in the
 * REST envelope), else the identity is on the context as for every REST route. Mount it with
 * `app.use('*', ...adminGuard(auth))` on any admin sub-app.
 */
export function adminGuard(auth: Authenticator): MiddlewareHandler<AuthVars>[] {
  const onlyAdmins: MiddlewareHandler<AuthVars> = async (c, next) => {
    if (!c.get('identity').grants.includes(ADMIN_GRANT)) {
      return fail(c, AppError.forbidden('the admin API needs a token with the admin grant'));
    }
    await next();
    return undefined;
  };
  return [bearer(auth), onlyAdmins];
}
