import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@parley/protocol';
import { pageOf } from './paging.ts';

test('pageOf: sorted by key, after the cursor, bounded; a foreign cursor is 400', () => {
  const items = [3, 1, 4, 1.5, 9, 2].map((n) => ({ n, id: `i${n}` }));
  const key = (t: { n: number; id: string }) => [t.n, t.id];
  const first = pageOf(items, key, 2, { limit: 4 });
  assert.deepEqual(
    first.items.map((t) => t.n),
    [1, 1.5, 2, 3],
  );
  const second = pageOf(items, key, 2, { limit: 4, cursor: first.next! });
  assert.deepEqual(
    second.items.map((t) => t.n),
    [4, 9],
  );
  assert.equal(second.next, null);
  assert.deepEqual(pageOf([], key, 2, { limit: 4 }), { items: [], next: null });
  for (const cursor of ['nope', Buffer.from('[1]').toString('base64url')]) {
    assert.throws(
      () => pageOf(items, key, 2, { limit: 4, cursor }),
      (err: unknown) => err instanceof AppError && err.code === 'bad_request',
    );
  }
});
