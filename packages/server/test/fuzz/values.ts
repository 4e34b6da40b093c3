import fc from 'fast-check';

/**
 * The values the fuzzer puts into fields: plausible ones and hostile ones (NUL bytes, numbers
 * where strings belong, over-long strings, deep nesting, prototype-pollution keys). Deep and
 * polluting values cannot be built as JS objects (the encoder would recurse, `__proto__` would
 * set the prototype), so they are `Raw` JSON text spliced in by `toJson`.
 */

/** JSON text that `toJson` writes verbatim where this value stands. */
export class Raw {
  constructor(readonly text: string) {}
}

/** A value `toJson` can write: JSON data with `Raw` pieces anywhere inside. */
export type Value = unknown;

/**
 * JSON text of `value`, with every `Raw` written verbatim. A marker string stands in for each
 * Raw during `JSON.stringify` and is swapped for the text afterwards.
 */
export function toJson(value: Value): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (!(v instanceof Raw)) return v;
    raws.push(v.text);
    return `\u0001raw${raws.length - 1}\u0001`;
  });
  if (raws.length === 0) return text;
  return text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

/** `depth` nested arrays or objects around a leaf, as JSON text. */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + '1' + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A deeply nested value; up to 20,000 levels fit a 64 KiB frame. */
export const deep: fc.Arbitrary<Raw> = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 64, max: 2000 }), fc.integer({ min: 2000, max: 20_000 })),
    kind: fc.constantFrom<'array' | 'object'>('array', 'object'),
  })
  .map(({ depth, kind }) => new Raw(deepJson(depth, kind)));

/** Objects whose keys try to reach `Object.prototype`. */
export const polluting: fc.Arbitrary<Raw> = fc
  .constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty')
  .map(
    (key) =>
      new Raw(`{"${key}":{"polluted":"yes","prototype":{"polluted":"yes"}},"polluted":"no"}`),
  );

/** Strings with NUL and other control characters, lone surrogates' neighbours, any code point. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', 'bob\u0000', '\u0000'.repeat(64), '\uFFFF', '\u202E'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '%00', '${x}', '<script>', 'null'),
);

/** Strings longer than the fields allow (64, 128, 256, 4096 ...) and a few far longer. */
export const longString: fc.Arbitrary<string> = fc
  .constantFrom(65, 129, 201, 257, 1025, 2049, 4097, 20_000)
  .map((n) => 'x'.repeat(n));

/** Anything a field might wrongly hold. */
export const hostile: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: longString, weight: 1 },
  { arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(-0)), weight: 2 },
  { arbitrary: fc.constantFrom(null, true, false, 0, 1e308, -1), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: polluting, weight: 1 },
);

/** Mostly `good` (so that handlers past validation run), sometimes hostile. */
export function field<T>(good: fc.Arbitrary<T>, hostileWeight = 1): fc.Arbitrary<Value> {
  return fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: hostile, weight: hostileWeight });
}

/**
 * An object with some of `fields` (each plausible or hostile), sometimes an unknown key, or
 * now and then no object at all.
 */
export function fields(shape: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Value> {
  const entries = Object.fromEntries(Object.entries(shape).map(([k, a]) => [k, field(a)]));
  const subset = fc
    .record(entries, { requiredKeys: [] })
    .chain((o) =>
      fc
        .option(fc.tuple(fc.string({ maxLength: 12 }), hostile), { freq: 8 })
        .map((extra) => (extra ? { ...o, [extra[0]]: extra[1] } : o)),
    );
  // Mostly every field present (the handler runs), else any subset.
  const full = fc.record(entries);
  return fc.oneof({ arbitrary: full, weight: 6 }, { arbitrary: subset, weight: 3 }, hostile);
}
