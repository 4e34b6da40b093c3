import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeError, FakeServer, fakeSignaling } from '../test/fake-server.ts';
import { ParleyError } from './errors.ts';
import { refreshDelayMs, type ConnectionState } from './signaling.ts';

/** The signaling connection against the fake endpoint: requests, events, drops and resumes. */

const rejects = async (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (e: unknown) => e instanceof ParleyError && e.code === code);

describe('Signaling', () => {
  test('connects with a resumable session; requests get their ok or typed error', async () => {
    const server = new FakeServer();
    server.on('call:invite', (d) => ({ callId: `to-${String(d.callee)}` }));
    server.on('call:accept', () => {
      throw new FakeError('invalid_state', 'call was already answered');
    });
    const s = fakeSignaling(server);
    const states: ConnectionState[] = [];
    s.on('state', (x) => states.push(x));
    const session = await s.connect();
    assert.equal(session.deviceId, 'dev-1');
    assert.equal(s.deviceId, 'dev-1');
    const url = server.current.url;
    assert.equal(url.pathname, '/ws');
    assert.equal(url.searchParams.get('resumable'), '1');
    assert.equal(url.searchParams.get('token'), 'jwt');
    assert.equal(url.searchParams.get('clientType'), 'web');
    assert.deepEqual(states, ['connecting', 'connected']);

    assert.deepEqual(await s.request('call:invite', { callee: 'bob' }), { callId: 'to-bob' });
    const err = await s.request('call:accept', { callId: 'x' }).catch((e: unknown) => e);
    assert.ok(err instanceof ParleyError);
    assert.equal(err.code, 'invalid_state');
    assert.equal(err.message, 'call was already answered');
    s.disconnect();
  });

  test('a request with no answer times out with `timeout`', async () => {
    const server = new FakeServer().on('call:hangup', () => undefined);
    const s = fakeSignaling(server, { timeoutMs: 30 });
    await s.connect();
    await rejects(s.request('call:hangup', { callId: 'x' }), 'timeout');
    s.disconnect();
  });

  test('events reach listeners; an error frame that answers nothing is an `error` event', async () => {
    const server = new FakeServer();
    const s = fakeSignaling(server);
    await s.connect();
    const events: string[] = [];
    const errors: string[] = [];
    s.on('event', (e) => events.push(e.type));
    s.on('error', (e) => errors.push(e.code));
    server.push({ type: 'call:record', record: {} as never });
    server.current.deliver({ type: 'error', error: { code: 'not_in_call', message: 'no' } });
    await server.settle();
    assert.deepEqual(events, ['call:record']);
    assert.deepEqual(errors, ['not_in_call']);
    s.disconnect();
  });

  test('a drop resumes the device: `received` counts frames, pending requests and queued commands survive', async () => {
    const server = new FakeServer();
    let answer: (() => void) | null = null;
    server.on('call:invite', () => {
      answer = () => server.current.deliver({ type: 'ok', requestId: 'c1', data: { callId: 'k' } });
      return undefined;
    });
    const s = fakeSignaling(server);
    await s.connect();
    server.push({ type: 'call:record', record: {} as never });
    server.push({ type: 'call:record', record: {} as never });
    const pending = s.request('call:invite', { callee: 'bob' });
    await server.settle();
    const resumed = s.next('resumed');
    server.drop();
    await server.settle(2);
    assert.equal(s.state, 'reconnecting');
    // A command sent while away waits for the resume.
    s.send('call:ice', { callId: 'k', candidate: null });
    await resumed;
    assert.equal(s.state, 'connected');
    const url = server.current.url;
    assert.equal(url.searchParams.get('resume'), 'token-1');
    assert.equal(url.searchParams.get('received'), '2');
    assert.equal(url.searchParams.get('resumable'), null);
    assert.equal(s.deviceId, 'dev-1');
    assert.ok(await server.next('call:ice'));
    answer!();
    assert.deepEqual(await pending, { callId: 'k' });
    s.disconnect();
  });

  test('a reply the server wrote while the socket was dead arrives with the resume', async () => {
    const server = new FakeServer();
    server.on('call:invite', () => {
      server.drop();
      return { callId: 'late' };
    });
    const s = fakeSignaling(server);
    await s.connect();
    assert.deepEqual(await s.request('call:invite', { callee: 'bob' }), { callId: 'late' });
    assert.equal(server.sockets.length, 2);
    s.disconnect();
  });

  test('back as a new device: `sessionLost`, pending requests fail with `session_lost`', async () => {
    const server = new FakeServer().on('call:invite', () => undefined);
    const s = fakeSignaling(server);
    await s.connect();
    const pending = s.request('call:invite', { callee: 'bob' });
    server.resumes = false;
    const lost = s.next('sessionLost');
    server.drop();
    await lost;
    await rejects(pending, 'session_lost');
    assert.equal(s.deviceId, 'dev-2');
    assert.equal(server.current.url.searchParams.get('resume'), 'token-1');
    s.disconnect();
  });

  test('a device an administrator disconnected (4012) is closed, not reconnected', async () => {
    const server = new FakeServer();
    const s = fakeSignaling(server, { policy: { nextRetryDelayInMs: () => 5 } });
    await s.connect();
    let retried = false;
    s.on('reconnecting', () => (retried = true));
    const closed = s.next('closed');
    server.current.close(4012, 'disconnected by an administrator');
    const [{ reason }] = await closed;
    assert.match(reason, /4012/);
    assert.equal(s.state, 'disconnected');
    assert.equal(retried, false);
  });

  test('the policy decides the retries; when it gives up the client is closed', async () => {
    const server = new FakeServer();
    const delays: Array<number | null> = [5, 5, null];
    const contexts: number[] = [];
    const s = fakeSignaling(server, {
      policy: {
        nextRetryDelayInMs: (c) => {
          contexts.push(c.retryCount);
          return delays.shift() ?? null;
        },
      },
    });
    await s.connect();
    const attempts: number[] = [];
    s.on('reconnecting', (r) => attempts.push(r.attempt));
    const closed = s.next('closed');
    server.accepting = false;
    server.drop();
    const [{ reason }] = await closed;
    assert.match(reason, /1006/);
    assert.deepEqual(contexts, [0, 1, 2]);
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(s.state, 'disconnected');
    assert.throws(
      () => s.send('call:ice', {}),
      (e: unknown) => (e as ParleyError).code === 'not_connected',
    );
  });

  test('a first connection that fails is reported, not retried; disconnect() fails what is pending', async () => {
    const server = new FakeServer();
    server.accepting = false;
    const s = fakeSignaling(server);
    await rejects(s.connect(), 'not_connected');
    assert.equal(server.sockets.length, 1);
    assert.equal(s.state, 'disconnected');

    server.accepting = true;
    server.on('call:invite', () => undefined);
    await s.connect();
    const pending = s.request('call:invite', { callee: 'x' });
    s.disconnect();
    await rejects(pending, 'closed');
    s.disconnect(); // idempotent
  });

  test('networkChanged() moves a connected client to a fresh socket at once', async () => {
    const server = new FakeServer();
    const s = fakeSignaling(server);
    await s.connect();
    const resumed = s.next('resumed');
    s.networkChanged();
    await resumed;
    assert.equal(server.sockets.length, 2);
    assert.equal(server.sockets[0]!.closed, true);
    s.disconnect();
  });

  test('with a token function, the token is refreshed before it expires', async () => {
    const server = new FakeServer();
    server.tokenTtlMs = 200;
    server.on('auth:refresh', () => ({ expiresAt: Date.now() + 3_600_000 }));
    let n = 0;
    const s = fakeSignaling(server, { token: () => `jwt-${++n}` });
    await s.connect();
    // The refresh timer is unref'd (a real socket keeps Node alive; the fake's does not).
    const alive = setInterval(() => undefined, 1000);
    const refresh = await server.next('auth:refresh');
    clearInterval(alive);
    assert.deepEqual(refresh.data, { token: 'jwt-2' });
    s.disconnect();
  });

  test('refreshToken(token) sends auth:refresh; a string token is replaced for reconnections', async () => {
    const server = new FakeServer();
    server.on('auth:refresh', (d) => {
      if (d.token !== 'jwt-new') throw new FakeError('forbidden', 'the token is for another user');
      return { expiresAt: 42 };
    });
    const s = fakeSignaling(server, { token: 'jwt-old' });
    await s.connect();
    await rejects(s.refreshToken('jwt-other'), 'forbidden');
    assert.equal(await s.refreshToken('jwt-new'), 42);
    const resumed = s.next('resumed');
    server.drop();
    await resumed;
    assert.equal(server.current.url.searchParams.get('token'), 'jwt-new');
    s.disconnect();
  });

  test('refreshDelayMs: a quarter before expiry, at most a minute before', () => {
    assert.equal(refreshDelayMs(200), 150);
    assert.equal(refreshDelayMs(3_600_000), 3_540_000);
    assert.equal(refreshDelayMs(-5), 0);
    assert.equal(refreshDelayMs(90 * 86_400_000), 2 ** 31 - 1, 'a 90-day token: the longest timer');
  });
});
