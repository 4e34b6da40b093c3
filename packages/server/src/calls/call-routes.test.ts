import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceRef, IceEvent, ServerEvent } from '@parley/protocol';
import type { CallRoute } from '../core/index.ts';
import type { RelayRoute } from '../relay/index.ts';
import { offerToBob } from '../cluster/bus-fixtures.kit.ts';
import { busNodes, settled } from '../cluster/bus-nodes.kit.ts';
import { routeCalls } from './call-routes.ts';
import { RouteCache } from './route-cache.ts';

const alice: DeviceRef = { userId: 'alice', deviceId: 'a1', clientType: 'web' };
const bob: DeviceRef = { userId: 'bob', deviceId: 'b1', clientType: 'ios' };

/** Call n1.x, answered by bob on n2; alice is on n1. */
const route: CallRoute = {
  callId: 'n1.x',
  media: 'video',
  caller: alice,
  callee: 'bob',
  answeredBy: bob,
  callerNode: 'n1',
  answerNode: 'n2',
  createdAt: 0,
};

test("a call's route reaches the node of its device; what is relayed along it is delivered there", async () => {
  const { bus, node, close } = busNodes('n1', 'n2');
  const delivered: Array<{ to: string; event: ServerEvent }> = [];
  const passed: RelayRoute[] = [];
  const routes = new RouteCache('n2', bus);
  routeCalls(node('n2').router, {
    routes,
    hub: { toDevice: (to, event) => delivered.push({ to: to.deviceId, event }) },
    relay: { offerPassed: (r) => passed.push(r) },
  });

  bus.publish('n2', { kind: 'route', route });
  await settled();
  assert.equal(routes.size, 1);
  const entry = routes.find('bob', { callId: 'n1.x' })!;
  assert.equal(entry.route.answerNode, 'n2');

  const ice: IceEvent = {
    type: 'call:ice',
    callId: 'n1.x',
    caller: 'alice',
    callee: 'bob',
    media: 'video',
    from: 'alice',
    candidate: null,
  };
  bus.publish('n2', { kind: 'relay', to: bob, event: ice });
  bus.publish('n2', { kind: 'relay', to: bob, event: offerToBob('video', 'v=0') });
  await settled();
  assert.deepEqual(
    delivered.map((d) => `${d.to}:${d.event.type}`),
    ['b1:call:ice', 'b1:call:offer'],
  );
  // Only the offer tells the relay that an offer went through (its ICE need not wait).
  assert.deepEqual(passed, [entry.relay]);

  bus.publish('n2', { kind: 'unroute', callIds: ['n1.x', 'unknown'] });
  await settled();
  assert.equal(routes.size, 0);
  // A relayed offer for a call this node no longer routes is still delivered, and that is all.
  bus.publish('n2', { kind: 'relay', to: bob, event: offerToBob('video', 'v=1') });
  await settled();
  assert.equal(delivered.length, 3);
  assert.equal(passed.length, 1);
  close();
});
