import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryUserPeers } from './memory-user-peers.ts';

test('slots up to the cap, counting what else the node holds; giving one back frees it', async () => {
  const peers = new MemoryUserPeers();
  assert.equal(await peers.take('ann', 2, 0), true);
  assert.equal(await peers.take('ann', 2, 1), false, 'one slot and one extra make the cap');
  assert.equal(await peers.take('ann', 2, 0), true);
  assert.equal(await peers.take('ann', 2, 0), false);
  assert.equal(await peers.take('bob', 2, 0), true, 'per user');
  assert.deepEqual(peers.entries(), [
    ['ann', 2],
    ['bob', 1],
  ]);
  peers.give('ann');
  assert.equal(peers.held('ann'), 1);
  assert.equal(await peers.take('ann', 2, 0), true);
});

test('a user with no slot left is forgotten, and a slot given twice does not go negative', () => {
  const peers = new MemoryUserPeers();
  assert.equal(peers.adjust('ann', 1), 1);
  peers.give('ann');
  peers.give('ann');
  assert.equal(peers.held('ann'), 0);
  assert.deepEqual(peers.entries(), []);
});
