import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '@parley/protocol';
import { busNodes, device, settled } from '../cluster/bus-nodes.kit.ts';
import { localPlacement } from '../cluster/local-placement.ts';
import type { RoomSnapshot } from '../core/index.ts';
import { MemoryDirectory } from '../presence/index.ts';
import { RoomsLease } from './lease.ts';
import type { RoomManager } from './rooms.ts';

/** n1 holding the rooms lease, whose predecessor's mirror loads when the test says. */
function holder() {
  const { node, log, close } = busNodes('n1');
  let load!: (s: RoomSnapshot) => void;
  const loading = new Promise<RoomSnapshot>((r) => (load = r));
  const lease = new RoomsLease({
    nodeId: 'n1',
    placement: localPlacement('n1'),
    registry: { onLeaderChange: () => undefined, roomsLeader: () => 'n1' },
    mirror: { load: () => loading },
    directory: new MemoryDirectory(),
    rpc: node('n1').rpc,
    vacancyWaitMs: 1_000,
    log,
  });
  const restored: RoomSnapshot[] = [];
  const rooms = { restore: (s: RoomSnapshot) => restored.push(s), clear: () => undefined };
  lease.follow(rooms as unknown as RoomManager);
  return { lease, load, restored, close };
}

test('a forwarded room command waits for the rooms taken over; any other runs at once', async () => {
  const h = holder();
  const ran: string[] = [];
  const run = h.lease.forwarded((_s, c: Command) => ran.push(c.type));
  const alice = device('alice');
  const join = run(alice, { type: 'room:join', roomId: 'r' });
  void run(alice, { type: 'call:hangup', call: { callId: 'c' } });
  await settled();
  assert.deepEqual(ran, ['call:hangup'], 'the room command waits for the takeover');
  h.load({ members: [], pairs: [] });
  await join;
  assert.deepEqual(ran, ['call:hangup', 'room:join']);
  assert.equal(h.restored.length, 1);
  h.close();
});

test('on the holder, a room command runs here once the rooms are loaded', async () => {
  const h = holder();
  const ran: string[] = [];
  const done = h.lease.run((_s, c) => ran.push(c.type), device('bob'), {
    type: 'room:members',
    roomId: 'r',
  });
  await settled();
  assert.deepEqual(ran, []);
  h.load({ members: [], pairs: [] });
  await done;
  assert.deepEqual(ran, ['room:members']);
  h.close();
});
