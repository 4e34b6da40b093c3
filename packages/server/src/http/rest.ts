import { AppError, httpStatusOf, type ErrorCode } from '@parley/protocol';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bearerToken, type Authenticator, type Identity } from '../auth/index.ts';

/** Numeric REST codes: HTTP status × 100 + a serial, the REQ-002 convention the specs use. */
const REST_CODE: Readonly<Record<ErrorCode, number>> = {
  bad_request: 40001,
  unknown_type: 40002,
  self_call: 40003,
  unauthorized: 40101,
  forbidden: 40301,
  not_in_call: 40302,
  not_found: 40401,
  invalid_state: 40901,
  no_connection: 40902,
  not_in_room: 40303,
  target_offline: 40402,
  meeting_ended: 41001,
  frame_too_large: 41301,
  rate_limited: 42901,
  limit_exceeded: 42902,
  internal: 50001,
  unavailable: 50301,
};

/** Variables the auth middleware puts on the context. */
export interface AuthVars {
  Variables: { identity: Identity };
}

/** `{code: 0, message: "success", data}`, the envelope every REST response uses. */
export function ok<T>(c: Context, data: T): Response {
  return c.json({ code: 0, message: 'success', data });
}

/** An error in the REST envelope with its HTTP status. */
export function fail(c: Context, err: AppError, code = REST_CODE[err.code]): Response {
  return c.json(
    { code, message: err.message, error: err.code },
    httpStatusOf[err.code] as ContentfulStatusCode,
  );
}

/** Requires `Authorization: Bearer <jwt>`; 401 otherwise. */
export function bearer(auth: Authenticator): MiddlewareHandler<AuthVars> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    try {
      if (!token) throw AppError.unauthorized();
      c.set('identity', await auth.verify(token));
    } catch (err) {
      return fail(c, err instanceof AppError ? err : AppError.unauthorized());
    }
    await next();
    return undefined;
  };
}
