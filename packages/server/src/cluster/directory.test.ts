import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisDirectory } from './directory.ts';
import { deletePrefix, keysFor } from './redis.ts';
import type { NodeRegistry } from './registry.ts';
import { presenceEntry as entry } from '../presence/entry.kit.ts';

/** Presence in Redis (real Redis; every node taken for alive). */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const prefix = `parley_directory_${process.pid}_${Date.now().toString(36)}`;
const keys = keysFor(prefix);
const log = pino({ level: 'silent' });
const everyoneAlive = { isAlive: () => true, onReconnect: () => {} } as unknown as NodeRegistry;

after(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

test('two first devices at once on two nodes count 1 and 2, two last ones at once 1 and 0', async () => {
  const n1 = new RedisDirectory(redis, keys, everyoneAlive, 'n1', log);
  const n2 = new RedisDirectory(redis, keys, everyoneAlive, 'n2', log);
  for (let i = 0; i < 20; i++) {
    const user = `u${i}`;
    // Sent together on one connection: both writes would land before either read if the count
    // were read apart from the write (then neither is the first: no user.online at all).
    const added = await Promise.all([
      n1.add(entry(user, 'd1', 'n1')),
      n2.add(entry(user, 'd2', 'n2')),
    ]);
    assert.deepEqual(added.sort(), [1, 2], `${user} added`);
    const removed = await Promise.all([n1.remove(user, 'd1'), n2.remove(user, 'd2')]);
    assert.deepEqual(removed.sort(), [0, 1], `${user} removed`);
    assert.equal(await n1.remove(user, 'd1'), null, 'a device not there');
  }
  assert.deepEqual(await redis.smembers(keys.presenceUsers), [], 'no user left online');
});

test('a device added again counts once', async () => {
  const n1 = new RedisDirectory(redis, keys, everyoneAlive, 'n1', log);
  assert.equal(await n1.add(entry('ann', 'a1', 'n1')), 1);
  assert.equal(await n1.add(entry('ann', 'a1', 'n1')), 1);
  assert.equal(await n1.add(entry('ann', 'a2', 'n1')), 2);
  assert.deepEqual((await n1.devices('ann')).map((e) => e.deviceId).sort(), ['a1', 'a2']);
  assert.equal(await n1.remove('ann', 'a1'), 1);
  assert.equal(await n1.remove('ann', 'a2'), 0);
});
