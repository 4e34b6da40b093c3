import { Hono } from 'hono';
import type { Authenticator } from '../auth/index.ts';
import type { Clock } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import { iceServers } from '../meetings/index.ts';
import type { Operations } from './openapi.ts';
import { bearer, ok, type AuthVars } from './rest.ts';
import { IceServersSchema } from './schemas.ts';

/** The media configuration route as the OpenAPI document shows it. */
export const MEDIA_OPS: Operations = {
  'GET /': {
    summary: "The ICE servers (STUN, TURN) for the caller's 1:1 calls",
    tag: 'calls',
    access: 'user',
    response: IceServersSchema,
  },
};

/**
 * `GET /api/media-config`: the ICE servers for the signed-in user's 1:1 calls (STUN, and TURN
 * with an ephemeral credential), as the meeting route gives them for a meeting.
 */
export function mediaRoutes(
  auth: Authenticator,
  ice: Config['ice'],
  clock: Clock = Date.now,
): Hono<AuthVars> {
  const app = new Hono<AuthVars>();
  app.use('*', bearer(auth));
  app.get('/', (c) => ok(c, { iceServers: iceServers(ice, c.get('identity').userId, clock()) }));
  return app;
}
