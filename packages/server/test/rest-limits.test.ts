import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness.ts';
import { rawClient } from './raw-socket.ts';

/** REST bodies are capped before they are read, and REST requests are rate-limited. */

describe('REST limits', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      auth: { devLogin: true },
      rest: { maxBodyBytes: 4096, ratePerSec: 0.01, rateBurst: 5 },
    });
  });
  after(() => srv.close());

  const port = () => Number(new URL(srv.httpBase).port);
  const json = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown;

  test('a declared 200 MB body gets 413 at once, without being sent', async () => {
    const token = await srv.token('body-a');
    const c = await rawClient(
      port(),
      `POST /api/meetings HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n{"title":"',
    );
    const text = await c.until(/\r\n\r\n\{.*\}/s);
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.deepEqual(json(text), {
      code: 41301,
      message: 'request body exceeds 4096 bytes',
      error: 'frame_too_large',
    });
    await c.closed();
  });

  test('a chunked body is refused once it passes the cap', async () => {
    const token = await srv.token('body-b');
    const c = await rawClient(
      port(),
      `POST /api/meetings HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const chunk = 'x'.repeat(1000);
    // Chunks keep coming (as a 200 MB upload would) until the server answers.
    const feeder = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    }, 5);
    try {
      const text = await c.until(/\r\n\r\n\{.*\}/s);
      assert.match(text, /^HTTP\/1\.1 413 /);
    } finally {
      clearInterval(feeder);
    }
  });

  test('a body within the cap is served', async () => {
    const token = await srv.token('body-c');
    const res = await fetch(`${srv.httpBase}/api/meetings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'standup' }),
    });
    assert.equal(res.status, 200);
  });

  test('each user has a REST budget; beyond it 429 in the REST error shape', async () => {
    const get = async (userId: string) => {
      const token = await srv.token(userId);
      return fetch(`${srv.httpBase}/api/presence`, {
        headers: { authorization: `Bearer ${token}` },
      });
    };
    for (let i = 0; i < 5; i++) assert.equal((await get('rate-a')).status, 200);
    const over = await get('rate-a');
    assert.equal(over.status, 429);
    assert.deepEqual(await over.json(), {
      code: 42901,
      message: 'too many messages; slow down',
      error: 'rate_limited',
    });
    assert.equal((await get('rate-b')).status, 200, 'another user has their own budget');
  });

  test('routes without a token are limited per client IP', async () => {
    const signIn = () =>
      fetch(`${srv.httpBase}/api/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'dev-user' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn()).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
  });
});
