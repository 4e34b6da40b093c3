import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { acceptHandshake } from './handshake.ts';
import { wsFrame } from './frames.ts';
import { WsSocket, WsState, type WsListener } from './socket.ts';

/** A server of WsSockets that echoes every message, and a `ws` client connected to it. */
async function pair(maxPayload = 1 << 20, hooks: Partial<WsListener> = {}) {
  const server = createServer();
  const events: string[] = [];
  const accepted = new Promise<WsSocket>((resolve) =>
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const h = acceptHandshake(req);
      assert.ok(h.ok);
      socket.write(h.response);
      const ws = new WsSocket(socket, maxPayload);
      const listener: WsListener = {
        message: (data, binary) => {
          events.push(`message ${data.toString()}`);
          socket.write(wsFrame(data, binary));
        },
        chunkRead: () => {},
        pong: () => events.push('pong'),
        controlRefused: () => events.push('refused'),
        closed: (code) => events.push(`closed ${code}`),
        error: () => events.push('error'),
        ...hooks,
      };
      ws.start(listener, head);
      resolve(ws);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await once(client, 'open');
  const ws = await accepted;
  const closed = new Promise<number>((resolve) =>
    client.on('close', (code: number) => resolve(code)),
  );
  const ended = new Promise<void>((resolve) => ws.socket.on('close', () => resolve()));
  return { server, client, ws, events, closed, ended };
}

test('WsSocket: messages both ways, text and binary, with the ws client', async () => {
  const { server, client, ws } = await pair();
  const got: Array<[string, boolean]> = [];
  const both = new Promise<void>((resolve) =>
    client.on('message', (data: Buffer, binary: boolean) => {
      got.push([data.toString(), binary]);
      if (got.length === 3) resolve();
    }),
  );
  client.send('héllo');
  client.send(Buffer.from('bytes'));
  client.send('x'.repeat(100_000));
  await both;
  assert.deepEqual(got, [
    ['héllo', false],
    ['bytes', true],
    ['x'.repeat(100_000), false],
  ]);
  assert.equal(ws.state, WsState.Open);
  client.terminate();
  server.close();
});

test('WsSocket: the end of each chunk is reported after its messages, before the tick ends', async () => {
  // What the connection relies on to write the frames a chunk's messages made without a tick.
  const seen: string[] = [];
  const { server, client } = await pair(1 << 20, {
    message: (data) => {
      seen.push(`message ${data.toString()}`);
      process.nextTick(() => seen.push('tick'));
    },
    chunkRead: () => seen.push('chunk'),
  });
  for (const m of ['a', 'b', 'c']) client.send(m);
  while (seen.filter((e) => e === 'tick').length < 3) await new Promise((r) => setImmediate(r));
  client.terminate();
  server.close();
  // Every message is followed by the end of its chunk before its tick is over.
  seen.forEach((e, i) => {
    if (e.startsWith('message')) {
      const rest = seen.slice(i + 1);
      assert.ok(rest.indexOf('chunk') >= 0, seen.join());
      assert.ok(
        rest.indexOf('tick') < 0 || rest.indexOf('chunk') < rest.indexOf('tick'),
        seen.join(),
      );
    }
  });
  assert.deepEqual(
    seen.filter((e) => e.startsWith('message')),
    ['message a', 'message b', 'message c'],
  );
});

test("WsSocket: answers the client's ping with its payload; the client answers ours", async () => {
  const { server, client, ws, events } = await pair();
  const pong = once(client, 'pong');
  client.ping('are you there');
  assert.equal(String((await pong)[0]), 'are you there');
  const ping = once(client, 'ping');
  ws.ping();
  await ping;
  while (!events.includes('pong')) await new Promise((r) => setImmediate(r));
  client.terminate();
  server.close();
});

test('WsSocket: the client closes: its code is echoed and reported, the connection ends', async () => {
  const { server, client, ws, events, closed, ended } = await pair();
  client.close(1000, 'bye');
  const late = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('still open after 5 s')), 5000).unref(),
  );
  assert.equal(await Promise.race([closed, late]), 1000);
  await ended;
  assert.equal(ws.state, WsState.Closed);
  assert.deepEqual(events, ['closed 1000']);
  server.close();
});

test('WsSocket: the server closes: reported at once, the client gets the code, and messages after it are not read', async () => {
  const { server, client, ws, events, closed, ended } = await pair();
  ws.close(4013, 'slow consumer');
  // The device is gone as the close frame leaves, not when the client answers it.
  assert.deepEqual(events, ['closed 4013']);
  client.send('after our close');
  assert.equal(await closed, 4013);
  await ended;
  // Neither the message after it nor the client's echo of the close is reported again.
  assert.deepEqual(events, ['closed 4013']);
  server.close();
});

test('WsSocket: a client that breaks the protocol is closed with its code (1009 too big)', async () => {
  const { server, client, events, closed, ended } = await pair(1000);
  client.send('x'.repeat(1001));
  assert.equal(await closed, 1009);
  await ended;
  assert.deepEqual(events, ['closed 1009']);
  server.close();
});

test('WsSocket: a client that goes away without a close frame is reported as 1006', async () => {
  const { server, client, events, ended } = await pair();
  client.terminate();
  await ended;
  assert.deepEqual(events, ['closed 1006']);
  server.close();
});

test('WsSocket: a client that sends its close frame but never ends the connection is reported at once, and dropped after the close timeout', async () => {
  const server = createServer();
  let reportedAt = 0;
  const ended = new Promise<number>((resolve) =>
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('close', () => resolve(Date.now()));
      const h = acceptHandshake(req);
      assert.ok(h.ok);
      socket.write(h.response);
      const ws = new WsSocket(socket, 1000, 200);
      const ignore = () => {};
      ws.start(
        {
          message: ignore,
          chunkRead: ignore,
          pong: ignore,
          controlRefused: ignore,
          closed: (code) => {
            assert.equal(code, 1000);
            reportedAt = Date.now();
          },
          error: ignore,
        },
        head,
      );
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // A raw client that says goodbye (a masked close frame, 1000) but keeps its side open.
  const client = connect({ port: (server.address() as AddressInfo).port, allowHalfOpen: true });
  client.on('error', () => {});
  client.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  client.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
  const started = Date.now();
  const late = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('still open after 5 s')), 5000).unref(),
  );
  const endedAt = await Promise.race([ended, late]);
  assert.ok(reportedAt > 0 && reportedAt - started < 150, 'reported as the close frame came');
  assert.ok(endedAt - started >= 150, 'not dropped before the timeout');
  client.destroy();
  server.close();
});

test('WsSocket: a client that pings in a loop gets a burst of pongs, not one each; the rest are reported', async () => {
  const { server, client, ws, events } = await pair();
  let pongs = 0;
  client.on('pong', () => pongs++);
  for (let i = 0; i < 200; i++) client.ping();
  // A message after the pings: once its echo is back, every pong there will be is too.
  client.send('after');
  await once(client, 'message');
  assert.ok(pongs >= 10 && pongs <= 12, `${pongs} pongs`);
  assert.equal(events.filter((e) => e === 'refused').length, 200 - pongs);
  assert.equal(ws.state, WsState.Open);
  client.terminate();
  server.close();
});
