import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RtcCommand } from '@parley/protocol';
import { busNodes, device } from '../cluster/bus-nodes.kit.ts';
import { localPlacement } from '../cluster/local-placement.ts';
import type { LocalRunner, MeetingSpanPort, Placement, Sender } from '../core/index.ts';
import { routeForwardedCommands } from '../gateway/forwarded-commands.ts';
import { MeetingRouting } from './meeting-routing.ts';

/** Media rooms that record what REST asked of them. */
const rooms = (did: string[], node: string) => ({
  userLeft: (meetingId: string, userId: string) => {
    did.push(`${node} left ${meetingId} ${userId}`);
    return Promise.resolve();
  },
  ended: (meetingId: string, endedBy: string) => {
    did.push(`${node} ended ${meetingId} by ${endedBy}`);
    return Promise.resolve();
  },
});

test("REST's leave and end reach the node holding the meeting, and return once it did them", async () => {
  const { node, log, close } = busNodes('n1', 'n2');
  // Meeting m1's media room is on n2.
  const placement: Placement = {
    ...localPlacement('n1'),
    meetingNode: () => Promise.resolve('n2'),
  };
  const did: string[] = [];
  const here = new MeetingRouting('n1', placement, node('n1').rpc, log);
  const holder = new MeetingRouting('n2', localPlacement('n2'), node('n2').rpc, log);
  holder.register(node('n2').router, rooms(did, 'n2'));
  const rest = here.forRest(rooms(did, 'n1'));
  await rest.userLeft('m1', 'alice');
  await rest.ended('m1', 'bob', '2026-01-01T00:00:00.000Z');
  assert.deepEqual(did, [
    'n1 left m1 alice',
    'n2 left m1 alice',
    'n1 ended m1 by bob',
    'n2 ended m1 by bob',
  ]);
  close();
});

/**
 * n1's meeting routing, for meetings held on n2 (or, with `span`, spanning the nodes), where
 * forwarded commands go to `run`.
 */
function heldOnN2(run: LocalRunner, span: MeetingSpanPort | null = null) {
  const { node, log, close } = busNodes('n1', 'n2');
  const placement: Placement = {
    ...localPlacement('n1'),
    meetingNode: () => Promise.resolve('n2'),
  };
  const here = new MeetingRouting('n1', placement, node('n1').rpc, log, span);
  routeForwardedCommands(node('n2').router, {
    rpc: node('n2').rpc,
    hub: { learn: () => undefined },
    run,
  });
  return { here, close };
}

test('rtc commands run where the meeting is; a device there hears when that node dies', async () => {
  const ran: string[] = [];
  const { here, close } = heldOnN2((sender, c) => ran.push(`n2 ${c.type} ${sender.deviceId}`));
  const alice = device('alice', 'a1');
  const local = (sender: Sender, c: RtcCommand) => ran.push(`n1 ${c.type} ${sender.deviceId}`);
  // A meeting this node holds runs here; another's runs on its holder.
  await here.run({ has: (id) => id === 'mine' }, local, alice, {
    type: 'rtc:join',
    meetingId: 'mine',
  });
  await here.run({ has: () => false }, local, alice, { type: 'rtc:join', meetingId: 'm2' });
  assert.deepEqual(ran, ['n1 rtc:join a1', 'n2 rtc:join a1']);

  const told: Array<{ to: string; e: unknown }> = [];
  here.nodeLost({ toDevice: (to, e) => told.push({ to: to.deviceId, e }) }, 'n3');
  assert.equal(told.length, 0, 'a node it is not in a meeting on');
  here.nodeLost({ toDevice: (to, e) => told.push({ to: to.deviceId, e }) }, 'n2');
  assert.deepEqual(told, [
    { to: 'a1', e: { type: 'rtc:mediaReset', meetingId: 'm2', reason: 'node_lost' } },
  ]);
  // Once the device goes, the nodes holding its meetings are the ones to tell (none left now).
  assert.deepEqual([...here.take('a1')], []);
  close();
});

test('the nodes holding a leaving device’s meetings are handed over once', async () => {
  const { here, close } = heldOnN2(() => null);
  const bob = device('bob', 'b1');
  await here.run({ has: () => false }, () => null, bob, { type: 'rtc:join', meetingId: 'm3' });
  assert.deepEqual([...here.take('b1')], ['n2']);
  assert.deepEqual([...here.take('b1')], []);
  close();
});

test('a device whose session moved keeps its peers where they are: they hear of it and get its rtc commands', async () => {
  const ran: string[] = [];
  // Meetings span the nodes: unless a device's peer is elsewhere, its commands run here.
  const span: MeetingSpanPort = {
    nodeId: 'n1',
    serving: () => Promise.resolve(),
    nodes: () => Promise.resolve([]),
    tell: () => undefined,
    ask: () => Promise.resolve(null),
  };
  const { here, close } = heldOnN2(
    (_, c) => ran.push(`n2 ${c.type} ${(c as RtcCommand).meetingId}`),
    span,
  );
  const local = (_: Sender, c: RtcCommand) => ran.push(`n1 ${c.type} ${c.meetingId}`);
  const has = { has: () => false };
  const cara = device('cara', 'c1');
  // Her session came from n2, where her peer in m1 is (and her peer in m2 was here all along).
  here.adopt(cara, { m1: 'n2', m2: 'n1' });
  await here.run(has, local, cara, { type: 'rtc:restartIce', meetingId: 'm1', transportId: 't' });
  await here.run(has, local, cara, { type: 'rtc:leave', meetingId: 'm2' });
  await here.run(has, local, cara, { type: 'rtc:leave', meetingId: 'm1' });
  // Her peer on n2 left: her next join is served here.
  await here.run(has, local, cara, { type: 'rtc:join', meetingId: 'm1' });
  assert.deepEqual(ran, [
    'n2 rtc:restartIce m1',
    'n1 rtc:leave m2',
    'n2 rtc:leave m1',
    'n1 rtc:join m1',
  ]);

  // Her session moves on: the next node gets where her peers are (this node's own too).
  const dan = device('dan', 'd1');
  here.adopt(dan, { m1: 'n2' });
  assert.deepEqual(here.handOff({ meetingsOf: () => ['m4'] }, 'd1'), { m1: 'n2', m4: 'n1' });
  assert.deepEqual([...here.take('d1')], [], 'this node no longer speaks for him');
  // A device that goes from here: the nodes of its peers elsewhere hear it.
  here.adopt(dan, { m1: 'n2' });
  assert.deepEqual([...here.take('d1')], ['n2']);
  close();
});
