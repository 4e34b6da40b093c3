import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busNodes, device } from '../cluster/bus-nodes.kit.ts';
import type { SessionHandoff } from './sessions.ts';
import { SessionHandoffs } from './session-handoff.ts';

test('a session another node issued is asked of that node, with where its meeting peers are; a dead node is not asked', async () => {
  const { node, close } = busNodes('n1', 'n2');
  const alive = new Set(['n1', 'n2']);
  const registry = { isAlive: (id: string) => alive.has(id) };
  const here = new SessionHandoffs(registry, node('n1').rpc);
  const arrived: unknown[] = [];
  here.register(node('n1').router, {
    leaving: () => ({}),
    arrived: (d, peers) => arrived.push([d.deviceId, peers]),
  });
  const issuer = new SessionHandoffs(registry, node('n2').rpc);
  const left: string[] = [];
  issuer.register(node('n2').router, {
    leaving: (deviceId) => {
      left.push(deviceId);
      return { m1: 'n2', m2: 'n3' };
    },
    arrived: () => assert.fail('nothing arrives at the issuer'),
  });
  const handoff: SessionHandoff = {
    sender: device('alice', 'a1'),
    dialect: 'native',
    sent: 3,
    from: 1,
    frames: [],
  };
  const asked: unknown[] = [];
  const request = { token: 'n2.tok', userId: 'alice', dialect: 'native', received: 1 };

  // Before the gateway exists, nothing can be handed over.
  assert.equal(await here.remote().take('n2', request), null);
  issuer.handOffFrom({
    handOff: (r) => {
      asked.push(r);
      return Promise.resolve(r.token === 'n2.tok' ? handoff : null);
    },
  });
  assert.deepEqual(await here.remote().take('n2', request), handoff);
  assert.deepEqual(left, ['a1'], 'the issuer gives up the device');
  assert.deepEqual(arrived, [['a1', { m1: 'n2', m2: 'n3' }]], 'its peers stay where they are');
  assert.deepEqual(await here.remote().take('n2', { ...request, token: 'n2.other' }), null);
  assert.equal(asked.length, 2);
  assert.equal(left.length, 1, 'a session not handed over leaves nothing');
  assert.equal((asked[0] as { token: string }).token, 'n2.tok');

  alive.delete('n2');
  assert.equal(await here.remote().take('n2', request), null);
  assert.equal(asked.length, 2, 'a dead node is not asked');
  close();
});
