import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatPayload, Command } from '@parley/protocol';
import { runsWithRooms } from './rooms-node.ts';

const chat = (messageType: number): Command => ({
  type: 'chat:send',
  message: { messageType, to: 'x' } as ChatPayload,
});

test('room commands and group chat run with the rooms; single chat and calls do not', () => {
  assert.equal(runsWithRooms({ type: 'room:join', roomId: 'r' }), true);
  assert.equal(runsWithRooms({ type: 'room:members', roomId: 'r' }), true);
  assert.equal(runsWithRooms(chat(2)), true, 'group chat is delivered to a room');
  assert.equal(runsWithRooms(chat(1)), false, 'single chat runs where it arrives');
  assert.equal(runsWithRooms({ type: 'call:hangup', call: { callId: 'c' } }), false);
});
