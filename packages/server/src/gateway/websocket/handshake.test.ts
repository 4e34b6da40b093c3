import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { acceptHandshake } from './handshake.ts';

const request = (headers: Record<string, string>, method = 'GET') =>
  ({ method, headers }) as unknown as IncomingMessage;

const GOOD = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};

test('acceptHandshake: the 101 of RFC 6455 §1.3, with its example key', () => {
  const h = acceptHandshake(request(GOOD));
  assert.ok(h.ok);
  assert.equal(
    h.response,
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
  );
});

test('acceptHandshake: the first subprotocol offered is chosen; extensions are declined', () => {
  const h = acceptHandshake(
    request({
      ...GOOD,
      'sec-websocket-protocol': 'chat, superchat',
      'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
    }),
  );
  assert.ok(h.ok);
  assert.match(h.response, /\r\nSec-WebSocket-Protocol: chat\r\n/);
  assert.doesNotMatch(h.response, /Extensions/);
});

test('acceptHandshake: a request that is not a WebSocket handshake is refused', () => {
  const refused = (headers: Record<string, string>, method?: string) => {
    const h = acceptHandshake(request(headers, method));
    assert.ok(!h.ok);
    return h;
  };
  assert.equal(refused(GOOD, 'POST').status, 405);
  assert.equal(refused({ ...GOOD, upgrade: 'h2c' }).status, 400);
  assert.equal(refused({ ...GOOD, 'sec-websocket-key': 'short' }).status, 400);
  assert.equal(refused({ ...GOOD, 'sec-websocket-protocol': 'a b' }).status, 400);
  const old = refused({ ...GOOD, 'sec-websocket-version': '8' });
  assert.equal(old.status, 426);
  assert.equal(old.headers, 'Sec-WebSocket-Version: 13\r\n');
});
