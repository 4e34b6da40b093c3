export { callRoutes, CALL_OPS } from './calls.ts';
export { meetingRoutes, MEETING_OPS } from './meetings.ts';
export { presenceRoutes, PRESENCE_OPS } from './presence.ts';
export { mediaRoutes, MEDIA_OPS } from './media.ts';
export { devLoginEnabled, devRoutes, DEV_OPS } from './dev.ts';
export { webRoutes } from './web.ts';
export { bearer, ok, fail, type AuthVars } from './rest.ts';
export { createHttpServer } from './server.ts';
export { KeyedRateLimiter, bodyCap, ipRateLimit, rateLimitedAuth } from './limits.ts';
export { metricsRoutes, metricsServer, METRICS_OPS } from './metrics.ts';
export { healthRoutes, HEALTH_OPS } from './health.ts';
export { adminRoutes, ADMIN_OPS } from './admin.ts';
export { adminGuard, ADMIN_GRANT } from './admin-guard.ts';
export { body } from './body.ts';
export {
  ApiDocument,
  openApiRoutes,
  openApiPath,
  OPENAPI_OPS,
  type Operation,
  type Operations,
} from './openapi.ts';
export { adminWebhookRoutes, ADMIN_WEBHOOK_OPS } from './admin-webhooks.ts';
