import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TokenRef } from '../auth/index.ts';
import { MAX_CREDENTIALS, withRefresh } from './credentials.ts';

test('a connection stands on its opening token and its latest refreshes, at most MAX_CREDENTIALS', () => {
  const t = (jti: string): TokenRef => ({ userId: 'u', jti, issuedAt: 0 });
  let held = [t('open')];
  for (const jti of ['r1', 'r2', 'r3', 'r4', 'r5']) held = withRefresh(held, t(jti));
  assert.equal(held.length, MAX_CREDENTIALS);
  assert.deepEqual(
    held.map((c) => c.jti),
    ['open', 'r3', 'r4', 'r5'],
  );
});
