import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEvent } from '@parley/protocol';
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
