import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusMessage } from '../core/index.ts';
import { BusRouter } from './bus-router.ts';
import { MemoryBus } from './memory-bus.ts';

test("each kind goes to its domain's handler; a kind nobody routed is left alone", async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  const router = new BusRouter(bus, 'n1')
    .on('unroute', (m) => got.push(`calls:${m.callIds.join()}`))
    .on('node-lost', (m) => got.push(`presence:${m.nodeId}`));
  assert.throws(() => router.on('unroute', () => undefined), TypeError, 'one handler per kind');
  const messages: BusMessage[] = [
    { kind: 'unroute', callIds: ['a'] },
    { kind: 'link-open', linkId: 'l1' },
    { kind: 'node-lost', nodeId: 'n9', devices: [] },
    { kind: 'unroute', callIds: ['b'] },
  ];
  for (const m of messages) bus.publish('n1', m);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ['calls:a', 'presence:n9', 'calls:b']);
});
