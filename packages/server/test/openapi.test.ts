import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiPath } from '../src/http/index.ts';
import { startServer, type TestServer } from './harness.ts';

/**
 * `/api/openapi.json`: a valid OpenAPI 3.1 document that names exactly the routes the server
 * registers (every route documented, every documented route served), with dev sign-in on so
 * that its route is among them.
 */

type Doc = { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };

/** What the document covers: the REST API, health and metrics (not the demo's static files). */
const isApi = (path: string) => /^\/(api|healthz|metrics)(\/|$)/.test(path);

describe('OpenAPI document', () => {
  let srv: TestServer;
  let doc: Doc;

  before(async () => {
    srv = await startServer({ auth: { devLogin: true } });
    const res = await fetch(`${srv.httpBase}/api/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as Doc;
  });
  after(() => srv.close());

  test('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  });

  test('documents every registered route, and only those', () => {
    const registered = new Set(
      srv.app.routes
        .filter((r) => r.method !== 'ALL' && isApi(r.path))
        .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path, '/')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method} ${path}`),
      ),
    );
    assert.ok(registered.has('post /api/admin/revocations'), 'the admin API is registered');
    assert.ok(registered.has('post /api/dev/token'));
    assert.deepEqual(
      [...registered].filter((r) => !documented.has(r)),
      [],
      'registered but not documented',
    );
    assert.deepEqual(
      [...documented].filter((d) => !registered.has(d)),
      [],
      'documented but not served',
    );
  });

  test('every operation: a summary, its success and error answers, admin ones guarded', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method} ${path}`;
        assert.equal(typeof op.summary, 'string', where);
        assert.ok((op.responses as Record<string, unknown>)['200'], `${where}: 200`);
        assert.ok(!ids.has(op.operationId as string), `${where}: operationId unique`);
        ids.add(op.operationId as string);
        if (path.startsWith('/api/admin/')) {
          assert.ok((op.responses as Record<string, unknown>)['403'], `${where}: 403`);
          assert.deepEqual(op.security, [{ bearer: [] }], where);
        }
      }
    }
  });
});
