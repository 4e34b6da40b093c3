import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusMessage } from '../core/index.ts';
import { chatWithFile, offerToBob } from './bus-fixtures.kit.ts';
import { decode, encode } from './codec.ts';

const to = { userId: 'bob', deviceId: 'b1', clientType: 'web' };

test('the codec carries bytes (a chat file) as bytes, and batches as arrays', () => {
  const event = chatWithFile('', new Uint8Array([0, 1, 254, 255]));
  const m: BusMessage = { kind: 'deliver', to, event };
  const back = decode(encode(m)) as Extract<BusMessage, { kind: 'deliver' }>;
  assert.deepEqual(back, m);
  assert.ok((back.event as { message: { file: unknown } }).message.file instanceof Uint8Array);
  const relay: BusMessage = {
    kind: 'relay',
    to,
    event: offerToBob('audio', 'v=0\r\n'),
  };
  assert.deepEqual(decode(`[${encode(relay)},${encode(m)}]`), [relay, m]);
});
