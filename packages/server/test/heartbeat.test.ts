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
      assert.ok(pings >= 3, `pinged before being dropped (${pings})`);
      const ended = await alice.next((f) => f.type === 'call:ended' && f.data.callId === callId);
      assert.equal(ended.data.reason, 'disconnected');

      // Alice answered every ping: still connected and served.
      assert.equal(alice.closed, null);
      const again = await alice.request('call:invite', { callee: 'hb-bob', media: 'audio' });
      assert.equal(again.type, 'ok');
    },
  );
});
