export { callRoutes } from './calls.ts';
export { meetingRoutes } from './meetings.ts';
export { presenceRoutes } from './presence.ts';
export { mediaRoutes } from './media.ts';
export { devLoginEnabled, devRoutes } from './dev.ts';
export { webRoutes } from './web.ts';
export { bearer, ok, fail, type AuthVars } from './rest.ts';
export { createHttpServer } from './server.ts';
export { KeyedRateLimiter, bodyCap, ipRateLimit, rateLimitedAuth } from './limits.ts';
