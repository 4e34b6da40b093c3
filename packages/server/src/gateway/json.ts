import { AppError } from '@parley/protocol';
import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

/** Parses a JSON text frame once. */
export function parseJson(data: Buffer, isBinary: boolean): unknown {
  if (isBinary) throw AppError.badRequest('binary frames are not accepted on this endpoint');
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch {
    throw AppError.badRequest('frame is not valid JSON');
  }
}

/** A compiled validator that throws a bad_request naming the first offending field. */
export function validator<T extends TSchema>(schema: T): (value: unknown) => Static<T> {
  const check: TypeCheck<T> = TypeCompiler.Compile(schema);
  return (value) => {
    if (check.Check(value)) return value;
    const first = check.Errors(value).First();
    const path = first?.path || '/';
    throw AppError.badRequest(`invalid field ${path}: ${first?.message ?? 'invalid'}`, {
      field: path,
    });
  };
}

/** Binds a schema to a builder: validate once, then map the value to a canonical shape. */
export function decoder<T extends TSchema, R>(
  schema: T,
  build: (value: Static<T>) => R,
): (value: unknown) => R {
  const check = validator(schema);
  return (value) => build(check(value));
}
