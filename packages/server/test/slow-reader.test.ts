import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { io } from 'socket.io-client';
import { startServer, TestClient, type TestServer } from './harness.ts';
import { eventually } from './raw-socket.ts';

/**
 * A client that never reads cannot make the server queue without bound: past the buffer cap,
 * or with a backlog that does not drain in time, its socket closes with 4013 (counted).
 */

const CONTENT = 'x'.repeat(32_000);

/** A native client whose TCP socket stops reading once it is open. */
async function nonReader(srv: TestServer, userId: string): Promise<{ ws: WebSocket; tcp: Socket }> {
  const token = await srv.token(userId);
  const ws = new WebSocket(`${srv.wsBase}/ws?token=${token}`);
  await once(ws, 'open');
  const tcp = (ws as unknown as { _socket: Socket })._socket;
  tcp.pause();
  return { ws, tcp };
}

/**
 * Sends up to `count` 32 KB chat messages from `from` to `to`, each acknowledged, until `to`
 * goes offline (its socket closed, the sender is told so): returns whether `to` is still on.
 */
async function flood(from: TestClient, to: string, count: number): Promise<boolean> {
  for (let i = 0; i < count; i++) {
    const ack = await from.request('chat:send', {
      to,
      messageType: 1,
      contentType: 1,
      content: CONTENT,
    });
    if (ack.type === 'error' && ack.error.code === 'target_offline') return false;
    assert.equal(ack.type, 'ok', JSON.stringify(ack));
  }
  return true;
}

/** Whether the presence API shows `userId` online (asked as `asker`). */
async function online(srv: TestServer, asker: string, userId: string): Promise<boolean> {
  const res = await fetch(`${srv.httpBase}/api/presence`, {
    headers: { authorization: `Bearer ${await srv.token(asker)}` },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { data: { users: Array<{ userId: string }> } };
  return body.data.users.some((u) => u.userId === userId);
}

async function closedFor(srv: TestServer, reason: string): Promise<number> {
  const m = await srv.app.metrics.slowConsumers.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

// Every rate class raised: these tests flood on purpose, and must hit the buffer cap, not the
// rate limiter.
const rate = {
  ratePerSec: 100_000,
  rateBurst: 100_000,
  signalRatePerSec: 100_000,
  signalRateBurst: 100_000,
  meetingRatePerSec: 100_000,
  meetingRateBurst: 100_000,
};

describe('a client that does not read, past the buffer cap', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      limits: rate,
      connections: { maxBufferedBytes: 1024 * 1024, writeTimeoutMs: 60_000 },
    });
  });
  after(() => srv.close());

  test('is closed with 4013 and the sender is unaffected', { timeout: 30_000 }, async () => {
    const alice = await srv.connect('slow-alice');
    const bob = await nonReader(srv, 'slow-bob');
    const closing = once(bob.ws, 'close');
    // Well past what the kernel buffers on loopback (a few MB) plus the cap.
    let sent = 0;
    await eventually(
      async () => {
        await flood(alice, 'slow-bob', 20);
        sent += 20;
        return (await closedFor(srv, 'overflow')) === 1;
      },
      () => `not closed after ${sent} messages of 32 KB`,
      20_000,
    );
    // Bob cannot answer the close frame (he reads nothing), yet he is gone at once, not after
    // the 30 s close timeout: a chat to him is refused as offline instead of acknowledged and
    // lost, and presence no longer shows him.
    await eventually(
      async () =>
        !(await flood(alice, 'slow-bob', 1)) && !(await online(srv, 'slow-alice', 'slow-bob')),
      () => 'slow-bob still online while his socket closes',
      2000,
    );
    bob.tcp.resume();
    const [code] = (await closing) as [number];
    assert.equal(code, 4013);
    assert.equal(alice.closed, null);
  });
});

describe('a client that does not read, with a backlog that does not drain', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      limits: rate,
      heartbeat: { intervalMs: 100, timeoutMs: 60_000 },
      connections: { maxBufferedBytes: 256 * 1024 * 1024, writeTimeoutMs: 500 },
    });
  });
  after(() => srv.close());

  test('is closed with 4013 after the write timeout', { timeout: 30_000 }, async () => {
    const alice = await srv.connect('stall-alice');
    const bob = await nonReader(srv, 'stall-bob');
    const closing = once(bob.ws, 'close');
    // More than the kernel holds (a few MB), far less than the cap: only the timeout applies.
    await flood(alice, 'stall-bob', 400);
    await eventually(
      async () => (await closedFor(srv, 'stalled')) === 1,
      () => 'not closed for its stalled backlog',
      10_000,
    );
    assert.equal(await closedFor(srv, 'overflow'), 0);
    bob.tcp.resume();
    const [code] = (await closing) as [number];
    assert.equal(code, 4013);
    assert.equal(alice.closed, null);
  });
});

describe('the replay log of a resumable session', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      limits: rate,
      calls: { disconnectGraceMs: 10_000 },
      connections: { maxBufferedBytes: 65_536 },
    });
  });
  after(() => srv.close());

  test('keeps maxBufferedBytes at most: a device that missed more cannot resume', async () => {
    const alice = await srv.connect('replay-alice');
    const token = await srv.token('replay-bob');
    const bob = await TestClient.open(`${srv.wsBase}/ws?token=${token}&resumable=1`);
    const ready = (await bob.nextType('session:ready')).data as { resumeToken: string };
    bob.ws.terminate();
    await bob.waitClose();
    // Three frames of 32 KB for bob, who received none of them: more than the log keeps.
    await flood(alice, 'replay-bob', 3);
    const again = await TestClient.open(
      `${srv.wsBase}/ws?token=${token}&resume=${ready.resumeToken}&received=0`,
    );
    const resumed = (await again.nextType('session:ready')).data as { resumed: boolean };
    assert.equal(resumed.resumed, false, 'a gap: a new device, not a resume with frames lost');
    again.close();
  });
});

describe('a socket.io client that sends but does not read', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ limits: rate, connections: { maxBufferedBytes: 65_536 } });
  });
  after(() => srv.close());

  test(
    'is disconnected once engine.io holds more than the cap for it',
    { timeout: 60_000 },
    async () => {
      const sio = io(srv.httpBase, {
        transports: ['websocket'],
        reconnection: false,
        auth: { token: await srv.token('slow-sio') },
      });
      await new Promise<void>((resolve, reject) => {
        sio.once('connect', resolve);
        sio.once('connect_error', reject);
      });
      const engine = sio.io.engine as unknown as { transport: { ws: { _socket: Socket } } };
      engine.transport.ws._socket.pause();
      const gone = new Promise<string>((resolve) => sio.once('disconnect', resolve));
      // Tiny requests, each answered with an error the client never reads.
      let sent = 0;
      await eventually(
        async () => {
          for (let i = 0; i < 2000; i++) sio.emit('rtc:nope', { junk: i });
          sent += 2000;
          await new Promise((r) => setImmediate(r));
          return (await closedFor(srv, 'overflow')) === 1;
        },
        () => `not closed after ${sent} requests`,
        40_000,
      );
      engine.transport.ws._socket.resume();
      assert.equal(await gone, 'transport close');
    },
  );
});
