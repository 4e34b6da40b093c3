import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEvent } from '@parley/protocol';
import { MemoryBus } from './memory-bus.ts';
import type { BusMessage } from '../core/index.ts';
import { decode, encode } from './codec.ts';

const to = { userId: 'bob', deviceId: 'b1', clientType: 'web' };

test('the codec carries bytes (a chat file) as bytes, and batches as arrays', () => {
  const event: ServerEvent = {
    type: 'chat:message',
    from: 'alice',
    timestamp: 1,
    message: {
      to: 'bob',
      messageType: 1,
      contentType: 2,
      content: '',
      kind: '',
      avatar: '',
      fromUsername: 'alice',
      url: '',
      fileSuffix: 'bin',
      file: new Uint8Array([0, 1, 254, 255]),
      duration: 0,
    },
  };
  const m: BusMessage = { kind: 'deliver', to, event };
  const back = decode(encode(m)) as Extract<BusMessage, { kind: 'deliver' }>;
  assert.deepEqual(back, m);
  assert.ok((back.event as { message: { file: unknown } }).message.file instanceof Uint8Array);
  const relay: BusMessage = {
    kind: 'relay',
    to,
    event: {
      type: 'call:offer',
      callId: 'n1.x',
      caller: 'alice',
      callee: 'bob',
      media: 'audio',
      from: 'alice',
      sdp: 'v=0\r\n',
    },
  };
  assert.deepEqual(decode(`[${encode(relay)},${encode(m)}]`), [relay, m]);
});

test('the memory bus keeps order per node, reaches every handler, and broadcasts to all', async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  bus.subscribe('n1', (m) => got.push(`a:${m.kind}`));
  bus.subscribe('n1', (m) => got.push(`b:${m.kind}`));
  bus.subscribe('n2', (m) => got.push(`n2:${m.kind}`));
  bus.publish('n1', { kind: 'unroute', callIds: [] });
  bus.publish('n1', { kind: 'unroute', callIds: ['x'] });
  bus.broadcast({ kind: 'node-lost', nodeId: 'n3', devices: [] });
  bus.publish('nobody', { kind: 'unroute', callIds: [] });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [
    'a:unroute',
    'b:unroute',
    'a:unroute',
    'b:unroute',
    'a:node-lost',
    'b:node-lost',
    'n2:node-lost',
  ]);
  await bus.close();
});
