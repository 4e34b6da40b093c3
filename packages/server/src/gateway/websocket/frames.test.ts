import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { wsFrame } from './frames.ts';

test('wsFrame: every length encoding, text and binary, as the ws client reads them', async () => {
  const texts = ['', 'x'.repeat(125), 'é'.repeat(63), 'y'.repeat(126), 'z'.repeat(0xffff)];
  texts.push('w'.repeat(0x10000), `{"candidate":"${'€'.repeat(50_000)}"}`);
  // The server side as the gateway has it: the upgraded socket, written to directly.
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const upgraded = new Promise<Duplex>((resolve) =>
    server.on('upgrade', (req, socket: Duplex, head: Buffer) =>
      wss.handleUpgrade(req, socket, head, () => resolve(socket)),
    ),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const got: Array<{ data: string; binary: boolean }> = [];
  const all = new Promise<void>((resolve, reject) => {
    client.on('message', (data: Buffer, binary: boolean) => {
      got.push({ data: data.toString(), binary });
      if (got.length === texts.length + 1) resolve();
    });
    // A frame ws cannot read closes the connection (1002): fail now, not at the test timeout.
    client.on('close', (code: number) => reject(new Error(`closed ${code} after ${got.length}`)));
  });
  try {
    const socket = await upgraded;
    // Back to back in one write, as a tick's frames go out.
    socket.write(
      Buffer.concat([...texts.map((t) => wsFrame(t, false)), wsFrame(Buffer.from('bytes'), true)]),
    );
    await all;
    assert.deepEqual(got, [
      ...texts.map((data) => ({ data, binary: false })),
      { data: 'bytes', binary: true },
    ]);
  } finally {
    client.terminate();
    server.close();
  }
});

test('wsFrame: header sizes by payload byte length (UTF-8, not characters)', () => {
  assert.equal(wsFrame('a'.repeat(125), false).length, 2 + 125);
  assert.equal(wsFrame('é'.repeat(63), false).length, 4 + 126);
  assert.equal(wsFrame('a'.repeat(0x10000), false).length, 10 + 0x10000);
});
