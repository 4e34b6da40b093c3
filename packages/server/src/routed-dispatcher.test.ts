import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '@parley/protocol';
import type { Owners, Sender } from './core/index.ts';
import { Dispatcher } from './gateway/index.ts';
import { routedDispatcher } from './routed-dispatcher.ts';

const alice: Sender = { userId: 'alice', deviceId: 'a1', clientType: 'web', name: 'A', grants: [] };

test('each command runs where what it is about lives; the rest runs here', async () => {
  const ran: string[] = [];
  const here = (type: string) => () => void ran.push(`here:${type}`);
  const local = new Dispatcher()
    .on('call:invite', here('call:invite'))
    .on('call:accept', here('call:accept'))
    .on('call:ice', here('call:ice'))
    .on('rtc:join', here('rtc:join'))
    .on('room:join', here('room:join'))
    .on('chat:send', here('chat:send'));
  const owners: Owners = {
    invite: (_s, c) => (ran.push(`invite:${c.callee}`), Promise.resolve({ callId: 'n1.x' })),
    call: (_s, c) => ran.push(`owner:${c.type}`),
    rooms: (_s, c) => (ran.push(`rooms:${c.type}`), Promise.resolve()),
    meeting: (_s, c) => (ran.push(`meeting:${c.meetingId}`), Promise.resolve()),
  };
  const d = routedDispatcher(local, owners);
  assert.deepEqual(d.types().sort(), local.types().sort(), 'the same commands, none added');
  const commands: Command[] = [
    { type: 'call:invite', callee: 'bob', media: 'audio', keepCalling: false },
    { type: 'call:accept', call: { callId: 'n2.y' } },
    { type: 'call:ice', call: { callId: 'n2.y' }, candidate: null },
    { type: 'rtc:join', meetingId: 'm1' },
    { type: 'room:join', roomId: 'r1' },
    { type: 'chat:send', message: { messageType: 2, to: 'r1' } } as Command,
    { type: 'chat:send', message: { messageType: 1, to: 'bob' } } as Command,
  ];
  for (const c of commands) await d.run(alice, c);
  assert.deepEqual(ran, [
    'invite:bob',
    'owner:call:accept',
    'owner:call:ice',
    'meeting:m1',
    'rooms:room:join',
    'rooms:chat:send',
    'here:chat:send',
  ]);
});
