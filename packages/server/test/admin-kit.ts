import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import type { Frame, TestServer } from './harness.ts';

/** Helpers of the admin API tests. */

/** Calls the REST API with `token` (none: no Authorization header). */
export async function call(
  srv: TestServer,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Frame }> {
  const res = await fetch(`${srv.httpBase}${path}`, {
    method,
    // A GET carries no body whatever the caller passed.
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined || method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Frame };
}

/** A call of the admin API that must succeed; its `data`. */
export async function admin(
  srv: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<Frame> {
  const token = await srv.token('root', { grants: ['admin'] });
  const r = await call(srv, token, method, `/api/admin${path}`, body);
  assert.equal(r.status, 200, `${method} ${path} → ${JSON.stringify(r.body)}`);
  assert.equal(r.body.code, 0);
  return r.body.data as Frame;
}

/** The secret startServer() and startCluster() sign with. */
const SECRET = new TextEncoder().encode('test-secret-test-secret-0123456789');

/** A token of `userId` issued at `iatSec` (epoch seconds), as an identity provider would. */
export function tokenIssuedAt(userId: string, iatSec: number): Promise<string> {
  return new SignJWT({ name: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setJti(`${userId}-${iatSec}`)
    .setIssuedAt(iatSec)
    .setExpirationTime(iatSec + 3600)
    .sign(SECRET);
}
