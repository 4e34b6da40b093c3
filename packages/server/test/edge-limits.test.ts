import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { startServer, type TestServer } from './harness.ts';
import { eventually, openFds, rawClient, upgradeRequest } from './raw-socket.ts';

/**
 * Nothing a client sends or withholds before it is an authenticated WebSocket holds a socket
 * without bound: unknown upgrade paths are answered, slow headers and handshakes time out,
 * handshakes in flight and connections per node are capped.
 */

const portOf = (srv: TestServer) => Number(new URL(srv.httpBase).port);

describe('upgrades and sockets before authentication', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      connections: { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 },
    });
  });
  after(() => srv.close());

  test('upgrades to paths Parley does not serve get 404 and give their fds back', async () => {
    const port = portOf(srv);
    const baseline = openFds();
    const paths = ['/', '/nope', '/api/presence', '/ws/', '/wsx', '/socket.iox'];
    const clients = await Promise.all(
      Array.from({ length: 300 }, (_, i) => rawClient(port, upgradeRequest(paths[i % 6]!))),
    );
    for (const c of clients) {
      assert.match(await c.until(/\r\n\r\n/), /^HTTP\/1\.1 404 /);
      await c.closed();
    }
    for (const c of clients) c.socket.destroy();
    await eventually(
      () => openFds() <= baseline + 2,
      () => `${openFds()} fds open, ${baseline} before`,
    );
    // The endpoints themselves and socket.io still upgrade.
    const ws = await srv.connect('edge-alice');
    assert.equal(ws.closed, null);
    const sio = io(srv.httpBase, {
      transports: ['websocket'],
      auth: { token: await srv.token('edge-bob') },
    });
    await new Promise<void>((resolve, reject) => {
      sio.once('connect', resolve);
      sio.once('connect_error', reject);
    });
    sio.close();
  });

  test('a socket that never finishes its headers is closed', async () => {
    const c = await rawClient(portOf(srv), 'GET /ws HTTP/1.1\r\nHost: localhost\r\n');
    await c.closed(3000);
  });

  test('an idle keep-alive connection is closed', async () => {
    const c = await rawClient(portOf(srv), 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(await c.until(/"status":"ok"/), /^HTTP\/1\.1 200 /);
    await c.closed(3000);
  });
});

describe('handshakes in flight', () => {
  let srv: TestServer;
  let jwks: Server;
  before(async () => {
    // An identity provider that never answers: every token check hangs.
    jwks = createServer(() => undefined);
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const { port } = jwks.address() as AddressInfo;
    srv = await startServer({
      auth: { jwksUrl: `http://127.0.0.1:${port}/jwks` },
      connections: { maxPendingUpgrades: 2, upgradeTimeoutMs: 400 },
    });
  });
  after(async () => {
    await srv.close();
    jwks.closeAllConnections();
    jwks.close();
  });

  test('are capped, and time out when the token check does not end', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: 'u', exp: 2e9 })}.c2ln`;
    const port = portOf(srv);
    const first = await rawClient(port, upgradeRequest(`/ws?token=${token}`));
    const second = await rawClient(port, upgradeRequest(`/ws?token=${token}`));
    const pending = async () => (await srv.app.metrics.upgradesPending.get()).values[0]?.value;
    await eventually(
      async () => (await pending()) === 2,
      () => 'two handshakes pending',
    );
    const third = await rawClient(port, upgradeRequest(`/ws?token=${token}`));
    assert.match(await third.until(/\r\n\r\n/), /^HTTP\/1\.1 503 /);
    for (const c of [first, second]) {
      assert.match(await c.until(/\r\n\r\n/, 3000), /^HTTP\/1\.1 408 /);
      await c.closed();
    }
    assert.equal(await pending(), 0);
  });
});

describe('connections per node', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ connections: { maxConnections: 3 } });
  });
  after(() => srv.close());

  test('beyond maxConnections a request gets 503 and is closed; below it, served again', async () => {
    const port = portOf(srv);
    const get = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const held = await Promise.all([1, 2, 3].map(() => rawClient(port, get)));
    for (const c of held) assert.match(await c.until(/"status":"ok"/), /^HTTP\/1\.1 200 /);
    const over = await rawClient(port, get);
    assert.match(await over.until(/\r\n\r\n/), /^HTTP\/1\.1 503 /);
    await over.closed();
    held[0]!.socket.destroy();
    await eventually(
      async () => (await fetch(`${srv.httpBase}/healthz`)).status === 200,
      () => 'a freed slot is served',
    );
  });
});
