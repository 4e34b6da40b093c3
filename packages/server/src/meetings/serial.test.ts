import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from './serial.ts';

test('jobs run one at a time in order, and a failure does not stop the queue', async () => {
  const q = new SerialQueue();
  const log: string[] = [];
  const slow = q.run(async () => {
    log.push('a:start');
    await new Promise((r) => setTimeout(r, 20));
    log.push('a:end');
    return 1;
  });
  const failing = q.run(() => {
    log.push('b');
    throw new Error('boom');
  });
  const fast = q.run(() => {
    log.push('c');
    return 3;
  });
  assert.equal(await slow, 1);
  await assert.rejects(failing, /boom/);
  assert.equal(await fast, 3);
  assert.deepEqual(log, ['a:start', 'a:end', 'b', 'c']);
});
