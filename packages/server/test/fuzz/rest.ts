import fc from 'fast-check';
import { readRest, type Answer } from './answers.ts';
import type { FuzzWorld } from './world.ts';
import { deep, field, hostile, nastyString, polluting, toJson } from './values.ts';

/**
 * REST requests for the fuzzer: every route with and without a token (or a bad one), good and
 * hostile path and query parameters, bodies that are valid, not JSON, deep, huge or polluting.
 */

/** One HTTP request. */
export interface RestCase {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** Path and query, already encoded (or deliberately mis-encoded). */
  path: string;
  auth: 'none' | 'bad' | 'user';
  /** Index into `FuzzWorld.users` for `auth: 'user'`. */
  user: number;
  body?: string;
  contentType?: string;
}

/** A path parameter: real, hostile (encoded), mis-encoded, or over-long. */
function param(real: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: real, weight: 4 },
    { arbitrary: nastyString.map(encodeURIComponent), weight: 2 },
    { arbitrary: fc.constantFrom('%', '%zz', '%00', '%E0%A4%A', '..%2F..', '%2e%2e'), weight: 1 },
    { arbitrary: fc.constantFrom(200, 5000).map((n) => 'x'.repeat(n)), weight: 1 },
  );
}

/** Every request the fuzzer may send. */
export function restCase(w: FuzzWorld): fc.Arbitrary<RestCase> {
  const meeting = param(fc.constantFrom(...w.meetingIds));
  const path = fc.oneof(
    fc.constant('/api/calls'),
    param(fc.constant('20')).map((l) => `/api/calls?limit=${l}`),
    param(fc.constant('abc')).map((c) => `/api/calls?cursor=${c}`),
    param(fc.uuid()).map((id) => `/api/calls/${id}`),
    fc.constant('/api/meetings'),
    fc
      .tuple(meeting, fc.constantFrom('', '/join', '/leave', '/end', '/media-config'))
      .map(([m, tail]) => `/api/meetings/${m}${tail}`),
    fc.constantFrom('/api/presence', '/api/media-config', '/healthz', '/metrics', '/'),
    fc.constantFrom('/api/dev/token', '/nope', '/api/nope', '/api/meetings//join'),
  );
  const json = fc.oneof(
    fc.record({ title: field(fc.string({ maxLength: 40 })) }, { requiredKeys: [] }),
    fc.record({ nickname: field(fc.string({ minLength: 1, maxLength: 20 })) }),
    fc.record({ userId: field(fc.constantFrom(...w.users)), name: hostile }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const body = fc.oneof(
    { arbitrary: json.map(toJson), weight: 6 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 100 }), weight: 1 },
    { arbitrary: deep.map((d) => `{"title":${d.text}}`), weight: 1 },
    { arbitrary: polluting.map((p) => p.text), weight: 1 },
    // Large bodies: over any sane cap, still small enough to send many times.
    {
      arbitrary: fc.constantFrom(70_000, 1_200_000).map((n) => toJson({ title: 'x'.repeat(n) })),
      weight: 1,
    },
  );
  return fc.record(
    {
      method: fc.oneof(
        { arbitrary: fc.constantFrom('GET', 'POST'), weight: 8 },
        { arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH'), weight: 1 },
      ),
      path,
      auth: fc.oneof(
        { arbitrary: fc.constant('user' as const), weight: 6 },
        { arbitrary: fc.constantFrom('none' as const, 'bad' as const), weight: 1 },
      ),
      user: fc.integer({ min: 0, max: w.users.length - 1 }),
      body,
      contentType: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
      ),
    },
    { requiredKeys: ['method', 'path', 'auth', 'user'] },
  );
}

/** What one request came to: its answer, or a network failure. */
export type RestOutcome = { answer: Answer; status: number } | { failed: string };

/** Sends one case; never throws. */
export async function sendRest(
  httpBase: string,
  c: RestCase,
  token: (userId: string) => Promise<string>,
  users: readonly string[],
  timeoutMs: number,
): Promise<RestOutcome> {
  const headers: Record<string, string> = {};
  if (c.auth === 'user') headers.authorization = `Bearer ${await token(users[c.user]!)}`;
  if (c.auth === 'bad') headers.authorization = 'Bearer not-a-token';
  if (c.contentType) headers['content-type'] = c.contentType;
  const hasBody = c.body !== undefined && c.method !== 'GET';
  try {
    const res = await fetch(`${httpBase}${c.path}`, {
      method: c.method,
      headers,
      ...(hasBody ? { body: c.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not every route answers JSON (/metrics, the web app).
    }
    return { answer: readRest(res.status, body), status: res.status };
  } catch (err) {
    return { failed: String((err as Error).cause ?? err) };
  }
}

/** A request as a line for a report. */
export function describeRest(c: RestCase): string {
  const body =
    c.body === undefined
      ? ''
      : ` body ${c.body.length > 120 ? `${c.body.slice(0, 120)}… (${c.body.length})` : c.body}`;
  return `${c.method} ${c.path.length > 120 ? `${c.path.slice(0, 120)}…` : c.path} auth=${c.auth}${body}`;
}
