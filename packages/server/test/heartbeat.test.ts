import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { startServer, type Frame, type TestServer } from './harness.ts';

/** Heartbeats: the server pings every socket and drops the ones that stop answering. */

describe('heartbeats', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      heartbeat: { intervalMs: 50, timeoutMs: 300 },
      calls: { disconnectGraceMs: 100 },
    });
  });
  after(() => srv.close());

  test(
    'a device that stops answering pings is dropped and its call ends; others stay',
    { timeout: 10_000 },
    async () => {
      const alice = await srv.connect('hb-alice'); // ws answers pings on its own
      const token = await srv.token('hb-bob', { name: 'Bob' });
      const bob = new WebSocket(`${srv.wsBase}/ws?token=${token}&clientType=web`, {
        autoPong: false,
      });
      await once(bob, 'open');
      let pings = 0;
      bob.on('ping', () => pings++);
      // Bob answers the call, then falls silent (a frozen tab, a dead network path).
      bob.on('message', (data: Buffer) => {
        const f = JSON.parse(data.toString()) as Frame;
        if (f.type === 'call:incoming') {
          bob.send(JSON.stringify({ type: 'call:accept', data: { callId: f.data.callId } }));
        }
      });
      const invited = await alice.request('call:invite', { callee: 'hb-bob', media: 'audio' });
      const callId = invited.data.callId as string;
      await alice.next((f) => f.type === 'call:accepted' && f.data.callId === callId);

      const [code] = (await once(bob, 'close')) as [number];
      assert.equal(code, 1006, 'terminated, not closed politely: the peer is not answering');
      assert.ok(pings >= 1, `pinged before being dropped (${pings})`);
      const ended = await alice.next((f) => f.type === 'call:ended' && f.data.callId === callId);
      assert.equal(ended.data.reason, 'disconnected');

      // Alice answered every ping: still connected and served.
      assert.equal(alice.closed, null);
      const again = await alice.request('call:invite', { callee: 'hb-bob', media: 'audio' });
      assert.equal(again.type, 'ok');
    },
  );
});

describe('heartbeat timing: ping every intervalMs, drop timeoutMs after an unanswered ping', () => {
  const beat = { intervalMs: 400, timeoutMs: 150 };
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ heartbeat: beat });
  });
  after(() => srv.close());

  /** A raw socket that records when it is pinged; it answers pings only when `pong`. */
  async function socket(userId: string, pong: boolean) {
    const token = await srv.token(userId);
    const ws = new WebSocket(`${srv.wsBase}/ws?token=${token}`, { autoPong: pong });
    const pings: number[] = [];
    ws.on('ping', () => pings.push(Date.now()));
    await once(ws, 'open');
    return { ws, pings };
  }

  test('a silent socket is pinged, then dropped timeoutMs after; one that answers stays', async () => {
    const live = await socket('hbt-live', true);
    const mute = await socket('hbt-mute', false);
    await once(mute.ws, 'close');
    const dropped = Date.now();
    assert.equal(mute.pings.length, 1, 'pinged once, then dropped before the next ping is due');
    const waited = dropped - mute.pings[0]!;
    assert.ok(
      waited >= beat.timeoutMs - 20 && waited < beat.intervalMs,
      `dropped after ${waited} ms`,
    );
    // The answering socket outlives three pings, though it sent nothing else for far longer
    // than timeoutMs.
    while (live.pings.length < 3) await once(live.ws, 'ping');
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    const gaps = live.pings.slice(1).map((t, i) => t - live.pings[i]!);
    assert.ok(
      gaps.every((g) => g >= beat.intervalMs * 0.75),
      `a ping every intervalMs, not every tick: ${gaps.join()}`,
    );
    live.ws.close();
  });
});

describe('heartbeat: sockets opened together', () => {
  // A sweep every 200 ms (half the interval); the timeout is out of the way.
  const beat = { intervalMs: 400, timeoutMs: 60_000 };
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ heartbeat: beat });
  });
  after(() => srv.close());

  test('are pinged spread over the interval, not all in one sweep', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const token = await srv.token(`hbs-${i}`);
        const ws = new WebSocket(`${srv.wsBase}/ws?token=${token}`);
        const firstPing = once(ws, 'ping').then(() => Date.now());
        await once(ws, 'open');
        return { ws, firstPing };
      }),
    );
    const first = await Promise.all(sockets.map((s) => s.firstPing));
    for (const s of sockets) s.ws.close();
    // Each socket's first ping is due at a random point of its first interval, so twenty of
    // them fall in more than one sweep (all in one: a chance of about 2 in a million). Pinged
    // from the first sweep on, as before, all twenty went out together.
    const spread = Math.max(...first) - Math.min(...first);
    assert.ok(spread >= 150, `first pings ${spread} ms apart`);
  });
});
