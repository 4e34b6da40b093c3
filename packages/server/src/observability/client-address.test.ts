import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientInfo, trustedProxies } from './client-address.ts';

const req = (peer: string, headers: Record<string, string> = {}): IncomingMessage =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

test('without trusted proxies the socket peer is the client and X-Forwarded-For is ignored', () => {
  const info = clientInfo(
    req('::ffff:203.0.113.7', { 'x-forwarded-for': '10.9.9.9', 'user-agent': 'Chrome/120.0.0.0' }),
    trustedProxies([]),
  );
  assert.deepEqual(info, { userAgent: 'Chrome/120.0.0.0', ip: '203.0.113.7' });
});

test('a trusted proxy hands over the rightmost hop it was told of', () => {
  const proxies = trustedProxies(['127.0.0.1']);
  assert.equal(
    clientInfo(req('127.0.0.1', { 'x-forwarded-for': '192.168.1.100' }), proxies).ip,
    '192.168.1.100',
  );
  // A client that writes its own X-Forwarded-For is named by the proxy's entry, not its own.
  assert.equal(
    clientInfo(req('127.0.0.1', { 'x-forwarded-for': '1.2.3.4, 198.51.100.2' }), proxies).ip,
    '198.51.100.2',
  );
  // The header from a peer that is not a proxy is the client's own claim.
  assert.equal(
    clientInfo(req('198.51.100.9', { 'x-forwarded-for': '1.2.3.4' }), proxies).ip,
    '198.51.100.9',
  );
  assert.equal(clientInfo(req('127.0.0.1'), proxies).ip, '127.0.0.1');
});

test('a chain of proxies in a CIDR is walked to the first untrusted hop', () => {
  const proxies = trustedProxies(['10.0.0.0/8', 'fd00::/8']);
  const info = clientInfo(
    req('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.2, fd00::5, 10.1.1.1' }),
    proxies,
  );
  assert.equal(info.ip, '198.51.100.2');
  assert.equal(info.userAgent, null);
  // Garbage in the header stops the walk at the last address that is one.
  assert.equal(
    clientInfo(req('10.0.0.2', { 'x-forwarded-for': 'not-an-ip' }), proxies).ip,
    '10.0.0.2',
  );
});

test('a trusted proxy that is not an address or CIDR stops the configuration', () => {
  assert.throws(() => trustedProxies(['proxy.local']), /trusted proxy proxy.local/);
});
