import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from './index.ts';

test('defaults apply on an empty environment', () => {
  const c = loadConfig({});
  assert.equal(c.server.port, 8080);
  assert.equal(c.server.host, '127.0.0.1');
  assert.equal(c.calls.inviteTtlMs, 60_000);
  assert.equal(c.limits.maxFrameBytes, 65_536);
  assert.equal(c.limits.ratePerSec, 10);
  assert.ok(Object.isFrozen(c.calls));
});

test('environment values are converted to their types', () => {
  const c = loadConfig({ PORT: '9000', PARLEY_INVITE_TTL_MS: '1500', PARLEY_BUSY_POLICY: 'ring' });
  assert.equal(c.server.port, 9000);
  assert.equal(c.calls.inviteTtlMs, 1500);
  assert.equal(c.calls.busyPolicy, 'ring');
});

test('invalid values are reported together', () => {
  assert.throws(
    () => loadConfig({ PORT: 'x', PARLEY_BUSY_POLICY: 'maybe' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes('/server/port') &&
      err.message.includes('/calls/busyPolicy'),
  );
});
