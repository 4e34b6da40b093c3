import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startServer, type Frame, type TestServer } from './harness.ts';

/**
 * What a user can enumerate: presence comes in pages and, when configured, only the user's
 * contacts; /metrics can be protected or moved off the API port; rooms can require a grant.
 */

async function presence(srv: TestServer, userId: string, query = '', grants?: string[]) {
  const token = await srv.token(userId, grants ? { grants } : {});
  const res = await fetch(`${srv.httpBase}/api/presence${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as Frame };
}

describe('presence', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('comes in pages by nickname, with a cursor to the next', async () => {
    for (const u of ['pg-e', 'pg-b', 'pg-g', 'pg-a', 'pg-d', 'pg-c', 'pg-f']) await srv.connect(u);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await presence(srv, 'pg-a', q);
      assert.equal(status, 200);
      assert.ok(body.data.users.length <= 3);
      seen.push(...(body.data.users as Frame[]).map((u) => u.userId as string));
      cursor = body.data.next as string | null;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e', 'pg-f', 'pg-g']);
  });

  test('a bad limit or cursor is a 400', async () => {
    assert.equal((await presence(srv, 'pg-a', '?limit=0')).status, 400);
    assert.equal((await presence(srv, 'pg-a', '?limit=501')).status, 400);
    const bad = await presence(srv, 'pg-a', '?cursor=bm9wZQ');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
  });
});

describe('presence scoped to contacts', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ rest: { presenceScope: 'contacts' } });
  });
  after(() => srv.close());

  test('shows the users the token grants as contacts, and the caller', async () => {
    for (const u of ['pal-1', 'pal-2', 'stranger', 'me']) await srv.connect(u);
    const ids = async (grants: string[]) =>
      ((await presence(srv, 'me', '', grants)).body.data.users as Frame[]).map((u) => u.userId);
    assert.deepEqual(await ids([]), ['me']);
    assert.deepEqual(await ids(['contact:pal-*']), ['me', 'pal-1', 'pal-2']);
    assert.deepEqual(await ids(['contact:stranger']), ['me', 'stranger']);
    assert.deepEqual(await ids(['presence:all']), ['me', 'pal-1', 'pal-2', 'stranger']);
  });
});

describe('/metrics', () => {
  let guarded: TestServer;
  let apart: TestServer;
  before(async () => {
    guarded = await startServer({ metrics: { token: 'scrape-token-0123456789' } });
    apart = await startServer({ metrics: { port: 0 } });
  });
  after(async () => {
    await guarded.close();
    await apart.close();
  });

  test('with a token, only for that bearer', async () => {
    const url = `${guarded.httpBase}/metrics`;
    assert.equal((await fetch(url)).status, 401);
    const wrong = await fetch(url, {
      headers: { authorization: 'Bearer scrape-token-0123456780' },
    });
    assert.equal(wrong.status, 401);
    const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /parley_connections/);
  });

  test('with a port of its own, not on the API port', async () => {
    assert.equal((await fetch(`${apart.httpBase}/metrics`)).status, 404);
    const { port } = apart.app.metricsServer!.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /parley_connections/);
  });
});

describe('room access by grant', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ rooms: { access: 'grant' } });
  });
  after(() => srv.close());

  test('a room joins only with a room:<pattern> grant for it', async () => {
    const c = await srv.connect('ra-user', 'native', 'web', { grants: ['room:team-*'] });
    const denied = await c.request('room:join', { roomId: 'secret' });
    assert.equal(denied.type, 'error');
    assert.equal(denied.error.code, 'forbidden');
    assert.equal((await c.request('room:join', { roomId: 'team-red' })).type, 'ok');
    const none = await srv.connect('ra-none');
    assert.equal((await none.request('room:join', { roomId: 'team-red' })).error.code, 'forbidden');
  });
});
