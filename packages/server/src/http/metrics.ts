import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { AppError } from '@parley/protocol';
import { bearerToken } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { Operations } from './openapi.ts';
import { fail } from './rest.ts';
import { Type } from '@sinclair/typebox';

/** Compares in constant time, so that the token cannot be guessed byte by byte. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The metrics route as the OpenAPI document shows it (when on the API's port). */
export const METRICS_OPS: Operations = {
  'GET /': {
    summary: 'Prometheus metrics (with metrics.token: only for that Bearer token)',
    tag: 'operations',
    access: 'metrics',
    raw: 'text/plain',
    response: Type.String(),
  },
};

/** `GET /` the Prometheus text; with `metrics.token`, only for `Authorization: Bearer <token>`. */
export function metricsRoutes(metrics: Metrics, config: Config['metrics']): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    if (config.token !== undefined) {
      const token = bearerToken(c.req.header('authorization')) ?? '';
      if (!sameToken(token, config.token)) return fail(c, AppError.unauthorized());
    }
    return c.text(await metrics.registry.metrics(), 200, {
      'content-type': metrics.registry.contentType,
    });
  });
  return app;
}

/** `/metrics` on a listener of its own (`metrics.port` on `metrics.host`), apart from the API. */
export function metricsServer(metrics: Metrics, config: Config['metrics']): Server {
  const app = new Hono();
  app.route('/metrics', metricsRoutes(metrics, config));
  const listener = getRequestListener(app.fetch);
  return createServer((req, res) => void listener(req, res));
}
