import type { Context } from 'hono';
import type { Static, TSchema } from '@sinclair/typebox';
import { AppError } from '@parley/protocol';
import { validator } from '../gateway/json.ts';

/** A JSON body checked against a schema; an absent body is `{}`. 40001 when it does not fit. */
export function body<T extends TSchema>(schema: T): (c: Context) => Promise<Static<T>> {
  const check = validator(schema);
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
    return check(value);
  };
}
