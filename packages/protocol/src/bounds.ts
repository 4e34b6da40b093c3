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
  let size = 0;
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v !== 'object' || v === null) size += 8;
    else if (ArrayBuffer.isView(v)) size += v.byteLength;
    else {
      if (depth === MAX_VALUE_DEPTH) {
        throw AppError.badRequest(`value nested deeper than ${MAX_VALUE_DEPTH} levels`, {
          limit: MAX_VALUE_DEPTH,
        });
      }
      size += 2;
      const items = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
      if (!Array.isArray(v)) for (const key of Object.keys(v)) size += key.length + 4;
      for (const item of items) {
        walk(item, depth + 1);
        if (size > maxBytes) break;
      }
    }
    if (size > maxBytes) throw AppError.frameTooLarge(size, maxBytes);
  };
  walk(value, 0);
}
