import { Hono } from 'hono';
import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Envelope, ErrorSchema } from './schemas.ts';

/** HTTP methods the REST API uses. */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call an operation: anyone, a user with a Bearer token, a token with the `admin`
 * grant, or the metrics scraper (the `metrics.token`, when configured).
 */
export type Access = 'public' | 'user' | 'admin' | 'metrics';

/** One documented operation, its schemas those the route validates and answers with. */
export interface Operation {
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  query?: TObject;
  body?: TSchema;
  /** The `data` of the success envelope; with `raw`, the whole body. */
  response: TSchema;
  /** A response outside the envelope, of this content type (health, metrics, this document). */
  raw?: string;
  /** The error statuses the operation may answer beyond those of its access (401, 403, 429). */
  errors?: number[];
}

/** A sub-app's operations by `METHOD /path`, the path relative to where it is mounted. */
export type Operations = Readonly<Record<string, Operation>>;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'bad request (40001)',
  401: 'no valid token (40101)',
  403: 'not allowed (40301)',
  404: 'not found (40401)',
  409: 'invalid state (40901)',
  410: 'meeting ended (41001)',
  413: 'body too large (41301)',
  429: 'over the rate (42901) or a cap (42902)',
  503: 'the store or a node is unavailable (50301)',
};

/** `/api/calls` + `/:callId` → `/api/calls/{callId}`; a sub-app's `/` is its mount point. */
export function openApiPath(base: string, path: string): string {
  const full = (base + (path === '/' ? '' : path)).replace(/\/$/, '') || '/';
  return full.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The OpenAPI 3.1 document of the REST API, made of the operations each route module declares
 * beside its routes (TypeBox schemas are JSON Schema, which 3.1 takes as they are). A test
 * checks it against the routes the server registers, both ways.
 */
export class ApiDocument {
  private readonly paths = new Map<string, Map<Method, Operation>>();

  /** Adds the operations of a sub-app mounted at `base`. */
  add(base: string, ops: Operations): this {
    for (const [key, op] of Object.entries(ops)) {
      const [method, path] = key.split(' ') as [string, string];
      const full = openApiPath(base, path);
      let byMethod = this.paths.get(full);
      if (!byMethod) this.paths.set(full, (byMethod = new Map<Method, Operation>()));
      byMethod.set(method.toLowerCase() as Method, op);
    }
    return this;
  }

  /** The document as served at `/api/openapi.json`. */
  toJSON(version: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const [path, byMethod] of [...this.paths].sort(([a], [b]) => a.localeCompare(b))) {
      const item: Record<string, unknown> = {};
      for (const [method, op] of byMethod) item[method] = operation(path, method, op);
      paths[path] = item;
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'Parley REST API',
        version,
        description:
          'Calls, meetings, presence and the admin API of a Parley node. Every JSON answer is ' +
          '`{code, message, data}`; `code` is 0 on success, else HTTP status × 100 + a serial.',
      },
      paths,
      components: {
        schemas: { Error: ErrorSchema },
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    };
  }
}

function operation(path: string, method: Method, op: Operation): Record<string, unknown> {
  const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = Object.entries(op.query?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: op.query?.required?.includes(name) ?? false,
    schema,
  }));
  const errors = new Set(op.errors ?? []);
  if (op.access !== 'public') errors.add(401);
  if (op.access === 'user' || op.access === 'admin') errors.add(429);
  if (op.access === 'admin') errors.add(403);
  const responses: Record<string, unknown> = {
    200: {
      description: 'success',
      content: {
        [op.raw ?? 'application/json']: { schema: op.raw ? op.response : Envelope(op.response) },
      },
    },
  };
  for (const status of [...errors].sort()) {
    responses[status] = {
      description: STATUS_TEXT[status] ?? 'error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    operationId: `${method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c?: string) => (c ?? '').toUpperCase())}`,
    ...(op.access === 'public' ? {} : { security: [{ bearer: [] }] }),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(op.body
      ? { requestBody: { required: false, content: { 'application/json': { schema: op.body } } } }
      : {}),
    responses,
  };
}

/** The document's own route as the document shows it. */
export const OPENAPI_OPS: Operations = {
  'GET /': {
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    access: 'public',
    raw: 'application/json',
    response: Type.Object({ openapi: Type.Literal('3.1.0') }, { additionalProperties: true }),
  },
};

/** `GET /api/openapi.json`: the document, made once. */
export function openApiRoutes(doc: ApiDocument, version: string): Hono {
  const app = new Hono();
  let json: Record<string, unknown> | null = null;
  app.get('/', (c) => c.json((json ??= doc.toJSON(version))));
  return app;
}
