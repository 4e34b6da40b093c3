import type { Context } from 'hono';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, SAFE_TEXT_PATTERN } from '@parley/protocol';

/** A JSON body checked against a schema; an absent body is `{}`. 40001 when it does not fit. */
export function body<T extends TSchema>(schema: T): (c: Context) => Promise<Static<T>> {
  const check = TypeCompiler.Compile(schema);
  return async (c) => {
    const text = await c.req.text();
    let value: unknown = {};
    if (text.trim() !== '') {
      try {
        value = JSON.parse(text);
      } catch {
        throw AppError.badRequest('body is not valid JSON');
      }
    }
    if (check.Check(value)) return value;
    const first = check.Errors(value).First();
    const message =
      first?.schema.pattern === SAFE_TEXT_PATTERN
        ? 'control characters are not allowed'
        : (first?.message ?? '');
    throw AppError.badRequest(`invalid field ${first?.path || '/'}: ${message}`, {
      field: first?.path || '/',
    });
  };
}
