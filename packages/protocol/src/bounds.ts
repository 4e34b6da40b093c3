import { AppError } from './errors.ts';

/**
 * How deeply a client value may nest (objects and arrays, the outermost counting as one level).
 * Values a client sends are echoed later (appData, relayed payloads) through JSON.stringify and
 * socket.io's encoder, which recurse and overflow the stack some thousands of levels down; real
 * clients nest a handful of levels.
 */
export const MAX_VALUE_DEPTH = 32;

/**
 * Throws a `bad_request` when `value` nests deeper than MAX_VALUE_DEPTH, and a `frame_too_large`
 * when its JSON would be larger than about `maxBytes` (string lengths in UTF-16 units, numbers as
 * 8; for transports whose frames are not already capped). The walk stops at the first excess, so
 * a hostile value costs no more than a legitimate one.
 */
export function assertBoundedValue(value: unknown, maxBytes = Number.POSITIVE_INFINITY): void {
  const size = sizeOf(value, 0, maxBytes, 0);
  if (size > maxBytes) throw AppError.frameTooLarge(size, maxBytes);
}

/**
 * `size` plus the estimated JSON size of `v`, stopping early once above `maxBytes`. A plain
 * function over indexes and `for…in`: it runs on every frame, so it allocates nothing.
 */
function sizeOf(v: unknown, depth: number, maxBytes: number, size: number): number {
  if (typeof v === 'string') return size + v.length + 2;
  if (typeof v !== 'object' || v === null) return size + 8;
  if (ArrayBuffer.isView(v)) return size + v.byteLength;
  if (depth === MAX_VALUE_DEPTH) {
    throw AppError.badRequest(`value nested deeper than ${MAX_VALUE_DEPTH} levels`, {
      limit: MAX_VALUE_DEPTH,
    });
  }
  let total = size + 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && total <= maxBytes; i++) {
      total = sizeOf(v[i], depth + 1, maxBytes, total);
    }
    return total;
  }
  const record = v as Record<string, unknown>;
  for (const key in record) {
    if (total > maxBytes) break;
    if (Object.hasOwn(record, key)) {
      total = sizeOf(record[key], depth + 1, maxBytes, total + key.length + 4);
    }
  }
  return total;
}
