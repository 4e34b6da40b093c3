import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/observability/index.ts';
import { startServer, TestClient, type TestServer } from './harness.ts';
import { SioClient } from './meeting-kit.ts';
import { admin, call, tokenIssuedAt } from './admin-kit.ts';
import { LogCapture } from './log-capture.ts';

/**
 * Token revocation on one node: a revoked token is refused everywhere (REST, WebSocket,
 * socket.io) and every socket opened with it closes at once, on every transport; other tokens
 * stand. The cluster's: cluster/admin.test.ts.
 */

describe('token revocation (single node)', () => {
  let srv: TestServer;
  const open: Array<{ close(): void }> = [];
  const ws = async (path: string, token: string) => {
    const c = await TestClient.open(
      `${srv.wsBase}${path}${path.includes('?') ? '&' : '?'}token=${token}`,
    );
    open.push(c);
    return c;
  };

  const logs = new LogCapture();

  before(async () => {
    srv = await startServer({ rest: { rateBurst: 1000 } }, { log: createLogger('info', logs) });
  });
  after(async () => {
    for (const c of open) c.close();
    await srv.close();
  });

  test('by jti: every socket of the token closes (4011) within a second; others stand', async () => {
    const revoked = await srv.token('alice');
    const kept = await srv.token('alice');
    const native = await ws('/ws', revoked);
    const resumable = await ws('/ws?resumable=1', revoked);
    await resumable.nextType('session:ready');
    const meeting = await ws('/ws/meeting', revoked);
    const chat = await ws('/ws/chat', revoked);
    const sio = await SioClient.open(srv, 'alice', { token: revoked });
    open.push(sio);
    const sioClosed = new Promise<unknown>((resolve) => sio.socket.once('session:closed', resolve));
    const sioGone = new Promise<void>((resolve) => sio.socket.once('disconnect', () => resolve()));
    const other = await ws('/ws', kept);

    const root = await srv.token('root', { grants: ['admin'] });
    const t0 = Date.now();
    const answer = await call(srv, root, 'POST', '/api/admin/revocations', { token: revoked });
    // The revocation is in force once answered: the sockets close from there, on a loaded
    // machine after the request's own time (t0) too.
    const answered = Date.now();
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const r = answer.body.data as Record<string, unknown>;
    assert.deepEqual({ kind: r.kind, jti: r.jti }, { kind: 'jti', jti: decodeJwt(revoked).jti });
    assert.equal(r.closed, 5, 'the five sockets opened with it');
    for (const c of [native, resumable, meeting, chat]) {
      assert.equal((await c.waitClose()).code, 4011);
    }
    // The resumable device is ended, not parked to wait for a resume its token cannot make.
    assert.deepEqual(
      logs.lines.filter((l) => l.event === 'parked'),
      [],
    );
    assert.deepEqual(await sioClosed, { code: 4011, reason: 'token revoked' });
    await sioGone;
    const took = `${Date.now() - answered} ms after the answer, ${Date.now() - t0} ms after the request`;
    assert.ok(Date.now() - answered < 1000, `closed within a second (${took})`);
    assert.equal(other.closed, null, 'a socket of another token of the user stays');

    const refused = await call(srv, revoked, 'GET', '/api/calls');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.message, 'token revoked');
    await assert.rejects(TestClient.open(`${srv.wsBase}/ws?token=${revoked}`), /HTTP 401/);
    await assert.rejects(SioClient.open(srv, 'alice', { token: revoked }));
    assert.equal((await call(srv, kept, 'GET', '/api/calls')).status, 200);

    // The revoked token cannot extend a connection either.
    const refresh = await other.request('auth:refresh', { token: revoked });
    assert.equal(refresh.type, 'error', JSON.stringify(refresh));
    assert.equal(refresh.error.code, 'unauthorized');
  });

  test('a refreshed connection stands on every token it was authenticated with: revoking any closes it', async () => {
    const opening = await srv.token('dora');
    const refreshed = await srv.token('dora');
    const native = await ws('/ws', opening);
    const resumable = await ws('/ws?resumable=1', opening);
    await resumable.nextType('session:ready');
    for (const c of [native, resumable]) {
      const r = await c.request('auth:refresh', { token: refreshed });
      assert.equal(r.type, 'ok', JSON.stringify(r));
    }
    // Opened with the refresh's token only: it does not stand on the opening one.
    const bystander = await ws('/ws', refreshed);
    const r = await admin(srv, 'POST', '/revocations', { token: opening });
    assert.equal(r.closed, 2, 'the two connections opened with it, refreshed since');
    for (const c of [native, resumable]) assert.equal((await c.waitClose()).code, 4011);
    assert.equal(bystander.closed, null);

    // And the other way round: revoking a refresh's token closes the connections refreshed
    // with it, after later refreshes too (within MAX_CREDENTIALS).
    const third = await ws('/ws', await srv.token('dora'));
    for (const t of [refreshed, await srv.token('dora')]) {
      const ok = await third.request('auth:refresh', { token: t });
      assert.equal(ok.type, 'ok', JSON.stringify(ok));
    }
    const again = await admin(srv, 'POST', '/revocations', { token: refreshed });
    assert.equal(again.closed, 2);
    for (const c of [third, bystander]) assert.equal((await c.waitClose()).code, 4011);
  });

  test('by user: tokens issued before the cut-off are revoked, later ones stand', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await tokenIssuedAt('bob', now - 60);
    const fresh = await tokenIssuedAt('bob', now + 2);
    const oldSocket = await ws('/ws', old);
    const r = await admin(srv, 'POST', '/revocations', { userId: 'bob' });
    assert.equal(r.kind, 'user');
    assert.equal(r.userId, 'bob');
    assert.equal((await oldSocket.waitClose()).code, 4011);
    assert.equal((await call(srv, old, 'GET', '/api/calls')).status, 401);
    assert.equal((await call(srv, fresh, 'GET', '/api/calls')).status, 200);
    const freshSocket = await ws('/ws', fresh);
    assert.equal(freshSocket.closed, null);
    const rows = await sql<{ kind: string; subject: string }>`
      select kind, subject from token_revocations where subject = 'bob'`.execute(srv.app.db.kysely);
    assert.deepEqual(rows.rows, [{ kind: 'user', subject: 'bob' }], 'kept for restarts');
  });

  test('bad revocations get 400 (40001)', async () => {
    const token = await srv.token('root', { grants: ['admin'] });
    for (const body of [
      {},
      { jti: '' },
      { userId: 'bob', before: 'yesterday' },
      { userId: 'bob', before: new Date(Date.now() + 3_600_000).toISOString() },
      { token: 'not-a-jwt' },
      { jti: 'x', userId: 'bob' },
    ]) {
      const r = await call(srv, token, 'POST', '/api/admin/revocations', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 40001);
    }
  });
});

test('revocations survive a restart: the next run loads them before it serves', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-revoke-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789' },
    { server: { port: 0 }, dataDir },
  );
  const start = () => createApp(config, { log: pino({ level: 'silent' }) });
  const first = await start();
  const token = await first.auth.mint('carol');
  await first.revoker.revoke({
    kind: 'jti',
    jti: decodeJwt(token).jti!,
    expiresAt: Date.now() + 60_000,
  });
  await first.close();
  const second = await start();
  try {
    await assert.rejects(second.auth.verify(token), /token revoked/);
    assert.equal((await second.auth.verify(await second.auth.mint('carol'))).userId, 'carol');
  } finally {
    await second.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
