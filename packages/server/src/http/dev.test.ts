import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/index.ts';
import { devLoginEnabled } from './dev.ts';

/** When the dev sign-in is served: as configured, else only for a local setup. */
test('dev sign-in: on for a local setup only, unless configured', () => {
  const on = (env: Record<string, string>) => devLoginEnabled(loadConfig(env));
  assert.equal(on({}), true, 'npm start: generated secret, loopback');
  assert.equal(on({ HOST: '::1' }), true);
  assert.equal(on({ HOST: '0.0.0.0' }), false, 'reachable from other hosts');
  assert.equal(on({ PARLEY_JWT_SECRET: 'a-configured-secret-0123' }), false, 'a real issuer');
  assert.equal(on({ PARLEY_JWKS_URL: 'https://idp.example/jwks' }), false);
  assert.equal(on({ HOST: '0.0.0.0', PARLEY_DEV_LOGIN: '1' }), true, 'explicitly on');
  assert.equal(on({ PARLEY_DEV_LOGIN: '0' }), false, 'explicitly off');
  assert.equal(
    on({ PARLEY_DEV_LOGIN: 'true', PARLEY_JWT_SECRET: 'a-configured-secret-0123' }),
    true,
  );
});
