import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@parley/protocol';
import { RevocationList, refusingRevoked } from './revocations.ts';
import type { Authenticator, Identity } from './jwt.ts';

test('revocation list: by id until the token expires; by user before a cut-off, in seconds', () => {
  let now = 1_000_000;
  const list = new RevocationList(() => now);
  list.add({ kind: 'jti', jti: 'a', expiresAt: now + 5000 });
  assert.equal(list.revoked({ userId: 'u', jti: 'a', issuedAt: 0 }), true);
  assert.equal(list.revoked({ userId: 'u', jti: 'b', issuedAt: 0 }), false);

  list.add({ kind: 'user', userId: 'u', before: 20_500 });
  assert.equal(list.revoked({ userId: 'u', issuedAt: 19_000 }), true, 'an earlier second');
  assert.equal(list.revoked({ userId: 'u', issuedAt: 20_000 }), false, 'the same second stands');
  assert.equal(list.revoked({ userId: 'u' }), true, 'no iat: issued at 0');
  assert.equal(list.revoked({ userId: 'v', issuedAt: 0 }), false, 'another user');
  list.add({ kind: 'user', userId: 'u', before: 10_000 });
  assert.equal(list.revoked({ userId: 'u', issuedAt: 19_000 }), true, 'a cut-off never moves back');

  now += 5000;
  list.prune();
  assert.equal(list.revoked({ userId: 'x', jti: 'a', issuedAt: 0 }), false, 'expired ids go');
  assert.equal(list.size, 1);
});

test('refusingRevoked: a revoked token is unauthorized, others pass through', async () => {
  const identity = (token: string): Identity => ({
    userId: 'u',
    name: 'U',
    grants: [],
    expiresAt: Infinity,
    jti: token,
    issuedAt: 0,
  });
  const inner: Authenticator = {
    verify: (token) => Promise.resolve(identity(token)),
    mint: () => Promise.resolve('t'),
  };
  const list = new RevocationList();
  const auth = refusingRevoked(inner, list);
  assert.equal((await auth.verify('ok')).jti, 'ok');
  list.add({ kind: 'jti', jti: 'bad', expiresAt: Date.now() + 60_000 });
  await assert.rejects(
    auth.verify('bad'),
    (err: unknown) => err instanceof AppError && err.code === 'unauthorized',
  );
});
