import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.ts';
import { MAX_VALUE_DEPTH, assertBoundedValue } from './bounds.ts';

const nested = (levels: number): unknown =>
  JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown;
const codeOf = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.code;
  }
};

test('depth: MAX_VALUE_DEPTH levels pass, one more is bad_request, however deep it goes', () => {
  assert.equal(
    codeOf(() => assertBoundedValue(nested(MAX_VALUE_DEPTH))),
    undefined,
  );
  assert.equal(
    codeOf(() => assertBoundedValue({ a: nested(MAX_VALUE_DEPTH - 1) })),
    undefined,
  );
  assert.equal(
    codeOf(() => assertBoundedValue(nested(MAX_VALUE_DEPTH + 1))),
    'bad_request',
  );
  assert.equal(
    codeOf(() => assertBoundedValue({ a: nested(MAX_VALUE_DEPTH) })),
    'bad_request',
  );
  assert.equal(
    codeOf(() => assertBoundedValue(nested(100_000))),
    'bad_request',
  );
  for (const scalar of ['s', 1, true, null, undefined]) {
    assert.equal(
      codeOf(() => assertBoundedValue(scalar)),
      undefined,
    );
  }
});

test('size: about the JSON length; frame_too_large past maxBytes, wide or long', () => {
  assert.equal(
    codeOf(() => assertBoundedValue({ sdp: 'x'.repeat(1000) }, 1100)),
    undefined,
  );
  assert.equal(
    codeOf(() => assertBoundedValue({ sdp: 'x'.repeat(2000) }, 1100)),
    'frame_too_large',
  );
  assert.equal(
    codeOf(() => assertBoundedValue(Array(1000).fill(0), 1100)),
    'frame_too_large',
  );
  assert.equal(
    codeOf(() => assertBoundedValue({ b: Buffer.alloc(2000) }, 1100)),
    'frame_too_large',
  );
  assert.equal(
    codeOf(() => assertBoundedValue({ sdp: 'x'.repeat(2000) })),
    undefined,
  );
});
