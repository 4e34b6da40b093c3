import { Hono } from 'hono';
import { Type } from '@sinclair/typebox';
import type { Operations } from './openapi.ts';

/** The health route as the OpenAPI document shows it. */
export const HEALTH_OPS: Operations = {
  'GET /': {
    summary: "The node's health: 200 ok, 503 degraded (the store refuses writes)",
    tag: 'operations',
    access: 'public',
    raw: 'application/json',
    response: Type.Object({
      status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
      node: Type.String(),
      store: Type.Object({
        up: Type.Boolean(),
        pending: Type.Integer(),
        reason: Type.Union([Type.String(), Type.Null()]),
      }),
      connections: Type.Integer(),
      calls: Type.Integer(),
      meetings: Type.Integer(),
      sfuWorkers: Type.Array(
        Type.Object({
          index: Type.Integer(),
          pid: Type.Integer(),
          routers: Type.Integer(),
          streams: Type.Integer(),
        }),
      ),
      cluster: Type.Optional(Type.Unknown()),
    }),
    errors: [503],
  },
};

/** `GET /healthz`: what `health()` says, 503 when it is not up (a load balancer's check). */
export function healthRoutes(health: () => { up: boolean; body: Record<string, unknown> }): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const { up, body } = health();
    return c.json(body, up ? 200 : 503);
  });
  return app;
}
