import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusMessage, Sender } from '../core/index.ts';
import { busNodes, device, settled } from '../cluster/bus-nodes.kit.ts';
import { PresenceRouting, type PresenceRoutingOptions } from './routing.ts';

/** n1's presence routing, with what it did recorded; n2, n3, n4 only listen. */
function presenceOn(o: { remoteOwners?: string[]; meetings?: string[]; leader?: string | null }) {
  const { bus, node, close } = busNodes('n1', 'n2', 'n3', 'n4');
  const did: string[] = [];
  const heard = new Map<string, BusMessage[]>();
  for (const id of ['n2', 'n3', 'n4']) {
    heard.set(id, []);
    bus.subscribe(id, (m) => heard.get(id)!.push(m));
  }
  const options: PresenceRoutingOptions = {
    nodeId: 'n1',
    bus,
    registry: {
      roomsLeader: () => (o.leader === undefined ? 'n4' : o.leader),
      markDead: (nodeId) => void did.push(`dead:${nodeId}`),
    },
    calls: { remoteOwners: () => Promise.resolve(o.remoteOwners ?? []) },
    meetings: {
      take: () => new Set(o.meetings ?? []),
      nodeLost: (_hub, nodeId) => did.push(`meetings-lost:${nodeId}`),
    },
    here: {
      online: (d: Sender) => did.push(`online:${d.deviceId}`),
      offline: (d: Sender, grace: boolean) => did.push(`offline:${d.deviceId}:${grace}`),
    },
    rtc: { deviceGone: (d) => did.push(`rtc-gone:${d.deviceId}`), span: null },
    hub: { toDevice: () => undefined },
    fenced: () => did.push('fenced'),
  };
  const presence = new PresenceRouting(options);
  presence.register(node('n1').router);
  return { bus, presence, did, heard, close };
}

const kinds = (ms: BusMessage[] | undefined) =>
  (ms ?? []).map((m) => (m.kind === 'device' ? `device:${m.online}:${m.device.deviceId}` : m.kind));

test("a device's coming and going is this node's own and told to the nodes that care", async () => {
  const p = presenceOn({ remoteOwners: ['n2'], meetings: ['n3', 'n1'], leader: 'n4' });
  const hooks = p.presence.hooks();
  const alice = device('alice', 'a1');
  hooks.onDeviceOnline(alice);
  await settled();
  // Online: the nodes owning its calls; offline: those, its meetings' nodes and the rooms'.
  assert.deepEqual(kinds(p.heard.get('n2')), ['device:true:a1']);
  assert.deepEqual(kinds(p.heard.get('n3')), []);
  hooks.onDeviceOffline(alice, false);
  await settled();
  assert.deepEqual(kinds(p.heard.get('n2')), ['device:true:a1', 'device:false:a1']);
  assert.deepEqual(kinds(p.heard.get('n3')), ['device:false:a1']);
  assert.deepEqual(kinds(p.heard.get('n4')), ['device:false:a1']);
  assert.deepEqual(p.did, ['online:a1', 'offline:a1:false']);
  p.close();
});

test("a meeting-only device's leaving reaches only its meetings' nodes, grace elapsed", async () => {
  const p = presenceOn({ remoteOwners: ['n2'], meetings: ['n3'], leader: null });
  p.presence.hooks().onMeetingDeviceOffline(device('bob', 'b1'));
  await settled();
  assert.deepEqual(kinds(p.heard.get('n2')), []);
  const [m] = p.heard.get('n3')!;
  assert.deepEqual(m, {
    kind: 'device',
    online: false,
    device: device('bob', 'b1'),
    graceElapsed: true,
  });
  assert.deepEqual(p.did, ['rtc-gone:b1']);
  p.close();
});

test("another node's devices and lost nodes reach this node's domains", async () => {
  const p = presenceOn({});
  const carol = device('carol', 'c1');
  p.bus.publish('n1', { kind: 'device', online: true, device: carol });
  p.bus.publish('n1', { kind: 'device', online: false, device: carol });
  p.bus.publish('n1', { kind: 'device', online: false, device: carol, graceElapsed: true });
  p.bus.publish('n1', { kind: 'node-lost', nodeId: 'n9', devices: [device('dan', 'd1')] });
  await settled();
  assert.deepEqual(p.did, [
    'online:c1',
    'offline:c1:false',
    'offline:c1:true',
    'dead:n9',
    'offline:d1:true',
    'meetings-lost:n9',
  ]);
  assert.ok(!p.did.includes('fenced'));
  p.close();
});

test('a node-lost naming this node fences it, and nothing else', async () => {
  const p = presenceOn({});
  p.bus.publish('n1', { kind: 'node-lost', nodeId: 'n1', devices: [device('erin', 'e1')] });
  await settled();
  assert.deepEqual(p.did, ['fenced']);
  p.close();
});
