import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import type { Sender } from '../core/index.ts';
import { sweepHeartbeats } from './heartbeat.ts';
import type { DeviceConnection } from './hub.ts';

function fake(id: number, beats: Map<number, number>): DeviceConnection {
  return {
    sender: { userId: `u${id}`, deviceId: `d${id}` } as Sender,
    sendEvent: () => {},
    close: () => {},
    kick: () => {},
    credentials: [{ userId: `u${id}` }],
    heartbeat: () => beats.set(id, (beats.get(id) ?? 0) + 1),
  };
}

test('a sweep pings each connection once, a batch per turn of the event loop', async () => {
  const beats = new Map<number, number>();
  const conns = new Map(Array.from({ length: 1200 }, (_, i) => [i, fake(i, beats)]));
  sweepHeartbeats(conns.values(), Date.now(), { intervalMs: 30_000, timeoutMs: 10_000 }, 500);
  assert.equal(beats.size, 500, 'only the first batch runs at once');
  conns.delete(1100); // closes before its batch: skipped
  conns.set(5000, fake(5000, beats)); // opens during the sweep: pinged too
  await turn();
  assert.equal(beats.size, 1000);
  await turn();
  await turn();
  assert.equal(beats.size, 1200);
  assert.equal(beats.has(1100), false);
  assert.equal(beats.get(5000), 1);
  assert.ok(
    [...beats.values()].every((n) => n === 1),
    'nobody twice',
  );
});
