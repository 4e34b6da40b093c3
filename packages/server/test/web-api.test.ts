import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from './harness.ts';

/** The routes behind the SDK and the demo: dev sign-in, presence, call ICE servers, `/`. */

describe('REST for the SDK and the demo', () => {
  let srv: TestServer;
  let plain: TestServer;
  const web = mkdtempSync(join(tmpdir(), 'parley-web-'));
  before(async () => {
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>demo</title>');
    srv = await startServer({
      auth: { devLogin: true },
      web: { dir: web },
      ice: {
        stunUrls: ['stun:stun.test:3478'],
        turnUrls: ['turn:turn.test'],
        turnSecret: 'turn-secret',
      },
    });
    plain = await startServer({ web: { dir: join(web, 'missing') } });
  });
  after(async () => {
    await srv.close();
    await plain.close();
    rmSync(web, { recursive: true, force: true });
  });

  const post = (s: TestServer, path: string, body: unknown) =>
    fetch(`${s.httpBase}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('dev sign-in mints a token the server accepts', async () => {
    const res = await post(srv, '/api/dev/token', { userId: 'dana', name: 'Dana' });
    assert.equal(res.status, 200);
    const { data } = (await res.json()) as {
      data: { token: string; userId: string; name: string };
    };
    assert.equal(data.userId, 'dana');
    assert.equal(data.name, 'Dana');
    const { expiresAt, issuedAt, jti, ...identity } = await srv.app.auth.verify(data.token);
    assert.deepEqual(identity, { userId: 'dana', name: 'Dana', grants: [] });
    assert.ok(expiresAt > Date.now(), 'the token expires in the future');
    assert.ok(issuedAt! <= Date.now(), 'issued now');
    assert.equal(typeof jti, 'string', 'an id of its own, so that it can be revoked alone');
  });

  test('dev sign-in refuses bad bodies, and is absent where not enabled', async () => {
    for (const body of ['{nope', { userId: '' }, { userId: 'a b' }, { userId: 'x', name: '' }]) {
      const res = await post(srv, '/api/dev/token', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { error: string }).error, 'bad_request');
    }
    const res = await post(plain, '/api/dev/token', { userId: 'dana' });
    assert.equal(res.status, 404);
  });

  test('presence lists online users with their devices; media-config gives call ICE servers', async () => {
    await srv.connect('pres-a');
    await srv.connect('pres-b', 'native', 'web', { name: 'Bea' });
    await srv.connect('pres-b', 'native', 'ios', { name: 'Bea' });
    const token = await srv.token('pres-a');
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const res = await fetch(`${srv.httpBase}/api/presence`, auth);
    assert.equal(res.status, 200);
    const { data } = (await res.json()) as { data: { users: unknown[] } };
    assert.deepEqual(data.users, [
      { userId: 'pres-b', name: 'Bea', devices: 2 },
      { userId: 'pres-a', name: 'PRES-A', devices: 1 },
    ]);
    assert.equal((await fetch(`${srv.httpBase}/api/presence`)).status, 401);

    const ice = await fetch(`${srv.httpBase}/api/media-config`, auth);
    const servers = ((await ice.json()) as { data: { iceServers: Array<Record<string, string>> } })
      .data.iceServers;
    assert.deepEqual(servers[0], { urls: 'stun:stun.test:3478' });
    assert.equal(servers[1]!.urls, 'turn:turn.test');
    assert.match(servers[1]!.username!, /^\d+:pres-a$/);
    assert.ok(servers[1]!.credential);
  });

  test('`/` serves the demo; without a build it says how to make one; /api stays JSON', async () => {
    const page = await fetch(`${srv.httpBase}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>demo<\/title>/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const none = await fetch(`${plain.httpBase}/`);
    assert.equal(none.status, 404);
    assert.match(await none.text(), /npm run build:web/);
    const api = await fetch(`${srv.httpBase}/api/nothing`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: string }).error, 'not_found');
  });
});
