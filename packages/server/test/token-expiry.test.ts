import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

import { ENDPOINT, startServer, TestClient, type TestServer } from './harness.ts';
import { eventually } from './raw-socket.ts';

/**
 * A connection lives no longer than its token: it closes with 4001 at expiry unless the native
 * client refreshed it (`auth:refresh`) with a later token of the same user.
 */

describe('token expiry', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ heartbeat: { intervalMs: 100, timeoutMs: 60_000 } });
  });
  after(() => srv.close());

  // A token's exp is in whole seconds, so a ttl of 1 s may have as little as a few ms left by
  // the time the upgrade is checked; 2 s leaves at least one.
  async function open(userId: string, ttlSec: number, endpoint: string = ENDPOINT.native) {
    const token = await srv.token(userId, { ttlSec });
    return TestClient.open(`${srv.wsBase}${endpoint}?token=${token}`);
  }

  test('a native connection closes with 4001 when its token expires', async () => {
    const c = await open('exp-a', 2);
    const { code } = await c.waitClose(5000);
    assert.equal(code, 4001);
  });

  test('a legacy dialect, which has no refresh, closes at expiry too', async () => {
    const c = await open('exp-vc', 2, ENDPOINT.video_call);
    assert.equal((await c.waitClose(5000)).code, 4001);
  });

  test('auth:refresh with a later token of the same user keeps the connection', async () => {
    const c = await open('exp-b', 2);
    const later = await srv.token('exp-b', { ttlSec: 600 });
    const ok = await c.request('auth:refresh', { token: later });
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
    assert.ok(ok.data.expiresAt > Date.now() + 500_000, 'the new deadline is the new exp');
    // Past the first token's expiry (at most 2 s) and a few heartbeats: still served.
    const passed = Date.now() + 2500;
    await eventually(
      () => Date.now() > passed,
      () => 'time passes',
    );
    assert.equal(c.closed, null);
    const r = await c.request('auth:refresh', { token: later });
    assert.equal(r.type, 'ok');
  });

  test('a refresh with a token of another user or a bad token is refused; the socket stays', async () => {
    const c = await open('exp-c', 600);
    const other = await c.request('auth:refresh', { token: await srv.token('exp-d') });
    assert.equal(other.type, 'error');
    assert.equal(other.error.code, 'forbidden');
    const bad = await c.request('auth:refresh', { token: 'not-a-jwt' });
    assert.equal(bad.type, 'error');
    assert.equal(bad.error.code, 'unauthorized');
    const missing = await c.request('auth:refresh', {});
    assert.equal(missing.error.code, 'bad_request');
    assert.equal(c.closed, null);
  });

  test('a resumable connection learns its deadline in session:ready', async () => {
    const token = await srv.token('exp-e', { ttlSec: 600 });
    const c = await TestClient.open(`${srv.wsBase}/ws?token=${token}&resumable=1`);
    const ready = await c.nextType('session:ready');
    const exp = ready.data.tokenExpiresAt as number;
    assert.ok(Math.abs(exp - (Date.now() + 600_000)) < 5_000, String(exp));
    c.close();
  });

  test('socket.io is disconnected at expiry', async () => {
    const sio = io(srv.httpBase, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: await srv.token('exp-sio', { ttlSec: 2 }) },
    });
    await new Promise<void>((resolve, reject) => {
      sio.once('connect', resolve);
      sio.once('connect_error', reject);
    });
    const reason = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not disconnected at expiry')), 5000);
      sio.once('disconnect', (why) => {
        clearTimeout(timer);
        resolve(why);
      });
    });
    sio.close();
    assert.equal(reason, 'io server disconnect');
  });
});
