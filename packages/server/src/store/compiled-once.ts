import { CompiledQuery, type Compilable } from 'kysely';

/** Stands for a named value while the statement is compiled (no real value starts with NUL). */
const MARK = '\u0000';

/**
 * A statement that Kysely builds and compiles once, each use only filling in its values:
 * building and compiling the same INSERT and UPDATEs again for every call was a tenth of a
 * call's server time. `build` gets a marker in place of each of `names`; every parameter of
 * the compiled statement must be one of them, so that no value is baked in by mistake.
 */
export function compiledOnce<V extends object>(
  names: ReadonlyArray<keyof V & string>,
  build: (values: V) => Compilable,
): (values: V) => CompiledQuery {
  const markers = Object.fromEntries(names.map((n) => [n, `${MARK}${n}`])) as V;
  const { sql, parameters } = build(markers).compile();
  const slots = parameters.map((p) => {
    const name = typeof p === 'string' && p.startsWith(MARK) ? p.slice(1) : undefined;
    if (name === undefined) {
      throw new Error(`compiledOnce: parameter ${JSON.stringify(p)} is not a named value`);
    }
    return name as keyof V;
  });
  return (values) =>
    CompiledQuery.raw(
      sql,
      slots.map((name) => values[name]),
    );
}
