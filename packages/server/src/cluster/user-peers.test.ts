import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { deletePrefix, keysFor } from './redis.ts';
import { forgetNodePeers, RedisUserPeers } from './user-peers.ts';

/** Users' peer slots across nodes in Redis (real Redis; nodes' liveness keys set by hand). */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const prefix = `parley_user_peers_${process.pid}_${Date.now().toString(36)}`;
const keys = keysFor(prefix);
const log = pino({ level: 'silent' });

after(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

/** A node's adapter, alive (its liveness key set) unless told otherwise. */
async function node(id: string, alive = true): Promise<RedisUserPeers> {
  if (alive) await redis.set(keys.alive(id), '', 'PX', 60_000);
  return new RedisUserPeers(id, redis, keys, log);
}

/** The user's slots per node, as Redis has them (after the adapters' writes have landed). */
async function fields(userId: string): Promise<Record<string, string>> {
  await redis.ping();
  return redis.hgetall(keys.userPeers(userId));
}

test('the cap counts every live node; a slot given back on one frees a place on another', async () => {
  const [a, b] = await Promise.all([node('a1'), node('b1')]);
  assert.equal(await a.take('ann', 3, 0), true);
  assert.equal(await b.take('ann', 3, 0), true);
  assert.equal(await b.take('ann', 3, 1), false, 'two slots and one extra make the cap');
  assert.equal(await a.take('ann', 3, 0), true);
  assert.equal(await b.take('ann', 3, 0), false);
  assert.deepEqual(await fields('ann'), { a1: '2', b1: '1' }, 'a refusal leaves no slot');
  a.give('ann');
  assert.equal(await b.take('ann', 3, 0), true);
  assert.deepEqual(await fields('ann'), { a1: '1', b1: '2' });
  a.give('ann');
  b.give('ann');
  b.give('ann');
  assert.deepEqual(await fields('ann'), {}, 'no slots, no hash');
  assert.deepEqual(await redis.smembers(keys.nodeUserPeers('a1')), []);
});

test('joins on two nodes at once never pass the cap together', async () => {
  const [a, b] = await Promise.all([node('a2'), node('b2')]);
  const takes = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take('bea', 4, 0)),
  );
  assert.equal(takes.filter(Boolean).length, 4, JSON.stringify(takes));
  const held = Object.values(await fields('bea')).reduce((n, v) => n + Number(v), 0);
  assert.equal(held, 4, 'the refused ones wrote their corrections');
});

test("a dead node's slots count no more, and the janitor removes them", async () => {
  const live = await node('a3');
  const dying = await node('d3');
  assert.equal(await dying.take('cal', 2, 0), true);
  assert.equal(await dying.take('dan', 2, 0), true);
  assert.equal(await dying.take('cal', 2, 0), true);
  assert.equal(await live.take('cal', 2, 0), false);
  await redis.del(keys.alive('d3'));
  assert.equal(await live.take('cal', 2, 0), true, 'its liveness gone, its slots count no more');
  assert.equal(await forgetNodePeers(redis, keys, 'd3'), 2, 'two users had peers there');
  assert.deepEqual(await fields('cal'), { a3: '1' });
  assert.deepEqual(await fields('dan'), {});
  assert.equal(await redis.exists(keys.nodeUserPeers('d3')), 0);
});

test('a node writes its slots again after they were lost, and removes them when it stops or starts', async () => {
  const a = await node('a4');
  assert.equal(await a.take('eve', 5, 0), true);
  assert.equal(await a.take('eve', 5, 0), true);
  assert.equal(await a.take('fay', 5, 0), true);
  // The janitor took it for dead (or Redis restarted empty).
  await forgetNodePeers(redis, keys, 'a4');
  assert.deepEqual(await fields('eve'), {});
  a.reassert();
  assert.deepEqual(await fields('eve'), { a4: '2' });
  assert.deepEqual(await fields('fay'), { a4: '1' });
  await a.forget();
  assert.deepEqual(await fields('eve'), {});
  assert.equal(await redis.exists(keys.nodeUserPeers('a4')), 0);
});

test('with Redis unreachable a take is checked against this node alone', async () => {
  const down = new Redis('redis://127.0.0.1:1', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  try {
    const a = new RedisUserPeers('a5', down, keys, log);
    assert.equal(await a.take('gil', 2, 0), true);
    assert.equal(await a.take('gil', 2, 0), true);
    assert.equal(await a.take('gil', 2, 0), false);
    a.give('gil');
    assert.equal(await a.take('gil', 2, 0), true);
  } finally {
    down.disconnect();
  }
});
