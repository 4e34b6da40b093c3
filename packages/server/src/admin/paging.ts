import { AppError } from '@parley/protocol';

/** A page cursor: the sort key of the last item of the previous page, opaque to clients. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key of a cursor this server gave; 400 for anything else. */
export function decodeCursor(cursor: string, arity: number): Array<string | number> {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === arity &&
      v.every((x) => typeof x === 'string' || typeof x === 'number')
    )
      return v;
  } catch {
    // not JSON: reported below
  }
  throw AppError.badRequest('cursor is not one this server gave');
}

/** Compares two sort keys element by element. */
export function compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]) {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** How a page is asked for: at most `limit` items after `cursor` (a previous page's `next`). */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/**
 * One page of `items` sorted by `key` (of `arity` parts): those after the cursor, at most
 * `limit`, and the cursor of the next page (null on the last).
 */
export function pageOf<T>(
  items: readonly T[],
  key: (t: T) => Array<string | number>,
  arity: number,
  { limit, cursor }: PageRequest,
): { items: T[]; next: string | null } {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, arity);
  const sorted = items
    .filter((t) => after === undefined || compareKeys(key(t), after) > 0)
    .sort((a, b) => compareKeys(key(a), key(b)));
  const page = sorted.slice(0, limit);
  return {
    items: page,
    next: sorted.length > limit ? encodeCursor(key(page[page.length - 1]!)) : null,
  };
}
