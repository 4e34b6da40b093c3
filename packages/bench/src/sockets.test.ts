import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BenchSocket } from './sockets.ts';

test('BenchSocket speaks WebSocket to a ws server: sizes, split frames, pings', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const s = await BenchSocket.open(`ws://127.0.0.1:${port}/x?token=t`);
  const [peer] = await accepted;
  try {
    // Client → server: text frames of every length encoding (7-bit, 16-bit, 64-bit), one write.
    const texts = ['hi', 'é'.repeat(100), 'x'.repeat(70_000)];
    const got: string[] = [];
    peer.on('message', (d: Buffer, binary: boolean) => got.push(binary ? 'binary!' : d.toString()));
    s.sendAll(texts);
    s.send('last');
    while (got.length < 4) await once(peer, 'message');
    assert.deepEqual(got, [...texts, 'last']);
    assert.equal(s.tally.sent, 4);

    // Server → client: small and large frames (the large one arrives in several chunks).
    const frames: string[] = [];
    s.onFrame = (b) => frames.push(b.toString());
    const big = 'y'.repeat(300_000);
    peer.send('a');
    peer.send(big);
    peer.send('b');
    // A ping is answered with a pong carrying the same payload.
    peer.ping('are you there');
    const [pong] = (await once(peer, 'pong')) as [Buffer];
    assert.equal(pong.toString(), 'are you there');
    while (frames.length < 3) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(frames, ['a', big, 'b']);
    assert.equal(s.tally.received, 3);
  } finally {
    s.close();
    wss.close();
  }
});

test('BenchSocket.open reports an HTTP refusal', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: () => false });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  await assert.rejects(BenchSocket.open(`ws://127.0.0.1:${port}/?token=secret`), (err: Error) => {
    assert.match(err.message, /HTTP 401/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  wss.close();
});
