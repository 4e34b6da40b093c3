import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type AppError } from '@parley/protocol';
import { EarlyIceBuffer } from './ice-buffer.ts';
import { signalTarget, type SignalView } from './route.ts';

const dev = (userId: string, deviceId: string) => ({ userId, deviceId, clientType: 'web' });
const base: SignalView = {
  callId: 'c1',
  phase: 'accepted',
  caller: dev('alice', 'a1'),
  callee: 'bob',
  answeredBy: dev('bob', 'b2'),
};

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as AppError).code;
  }
  return 'none';
};

test('signals go caller device ⇄ answering device only', () => {
  assert.equal(signalTarget(base, dev('alice', 'a1')).deviceId, 'b2');
  assert.equal(signalTarget(base, dev('bob', 'b2')).deviceId, 'a1');
  const rows: Array<[string, SignalView, ReturnType<typeof dev>, string]> = [
    ['callee other device', base, dev('bob', 'b1'), ErrorCode.NotInCall],
    ['caller other device', base, dev('alice', 'a2'), ErrorCode.NotInCall],
    ['stranger', base, dev('eve', 'e1'), ErrorCode.NotInCall],
    [
      'caller while ringing',
      { ...base, phase: 'ringing', answeredBy: null },
      dev('alice', 'a1'),
      ErrorCode.InvalidState,
    ],
    [
      'stranger while ringing',
      { ...base, phase: 'ringing', answeredBy: null },
      dev('eve', 'e1'),
      ErrorCode.NotInCall,
    ],
    ['callee after end', { ...base, phase: 'ended' }, dev('bob', 'b2'), ErrorCode.InvalidState],
  ];
  for (const [name, state, sender, code] of rows) {
    assert.equal(
      codeOf(() => signalTarget(state, sender)),
      code,
      name,
    );
  }
});

test('early ICE is held, expires and is capped', () => {
  const buf = new EarlyIceBuffer<number>(100, 3);
  buf.hold(1, 0);
  buf.hold(2, 50);
  assert.deepEqual(buf.release(60), [1, 2]);
  assert.equal(buf.size, 0);
  buf.hold(3, 0);
  buf.hold(4, 150);
  assert.deepEqual(buf.release(160), [4], 'the candidate older than the ttl expired');
  for (let i = 0; i < 5; i++) buf.hold(i, 200);
  assert.deepEqual(buf.release(201), [2, 3, 4], 'only the newest max are kept');
});
