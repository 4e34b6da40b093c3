import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { DeviceRef, ServerEvent } from '@parley/protocol';
import type { Delivery, Sender } from '../core/index.ts';
import { loadConfig } from '../config/index.ts';
import { keysFor } from '../cluster/redis.ts';
import { RedisRoomMirror } from '../cluster/room-mirror.ts';
import { MemoryDirectory } from '../presence/index.ts';
import { RoomManager } from './rooms.ts';

/** The room manager's state in Redis, and a successor taking it over (real Redis). */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const keys = keysFor(`parley_mirror_${process.pid}_${Date.now().toString(36)}`);
const log = pino({ level: 'silent' });
const config = loadConfig({ PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789' });

after(async () => {
  await redis.del(keys.roomMembers, keys.roomPairs);
  redis.disconnect();
});

/** Events as each device received them. */
function recorder(): Delivery & { got: Map<string, ServerEvent[]> } {
  const got = new Map<string, ServerEvent[]>();
  return {
    got,
    toDevice(to: DeviceRef, event: ServerEvent) {
      got.set(to.deviceId, [...(got.get(to.deviceId) ?? []), event]);
    },
    toUser: () => Promise.resolve(),
  };
}

const sender = (userId: string, deviceId: string): Sender => ({
  userId,
  deviceId,
  clientType: 'web',
  name: userId.toUpperCase(),
  grants: ['voice'],
});

/** Waits until the mirror's fire-and-forget writes have reached Redis. */
const settled = () => redis.ping();

test('a successor restores rooms and pairs; members whose devices are gone leave, and the others hear it', async () => {
  const mirror = new RedisRoomMirror(redis, keys, log);
  const directory = new MemoryDirectory();
  const first = new RoomManager({
    rooms: config.rooms,
    delivery: recorder(),
    directory,
    log,
    mirror,
  });
  const ann = sender('ann', 'a1');
  const ben = sender('ben', 'b1');
  const cat = sender('cat', 'c1');
  first.join(ann, 'r1');
  first.join(ben, 'r1');
  first.join(cat, 'r1');
  first.join(cat, 'r2');
  await first.signal(ann, { type: 'room:signal', kind: 'offer', to: 'ben', payload: { sdp: 'x' } });
  await first.signal(cat, { type: 'room:signal', kind: 'offer', to: 'ann', payload: { sdp: 'y' } });
  first.leave(cat, 'r2');
  first.close();
  await settled();

  // The successor: ann and ben are still connected somewhere, cat is not.
  const delivery = recorder();
  const next = new RoomManager({ rooms: config.rooms, delivery, directory, log, mirror });
  next.restore(await mirror.load(), (d) => d.userId !== 'cat');
  assert.deepEqual(
    next
      .members(ann, 'r1')
      .members.map((m) => m.userId)
      .sort(),
    ['ann', 'ben'],
  );
  assert.throws(() => next.members(cat, 'r2'), /not in/i, 'r2 was left before the failover');
  const left = delivery.got.get('b1')?.find((e) => e.type === 'room:member_left');
  assert.deepEqual(left, { type: 'room:member_left', roomId: 'r1', userId: 'cat', name: 'CAT' });

  // ann's offer to ben survived: ben's answer is relayed; cat's offer went with cat.
  await next.signal(ben, { type: 'room:signal', kind: 'answer', to: 'ann', payload: { sdp: 'z' } });
  assert.equal(delivery.got.get('a1')?.at(-1)?.type, 'room:signal');
  await settled();
  const snapshot = await mirror.load();
  assert.deepEqual(snapshot.pairs, [{ from: 'ann', to: 'ben', phase: 'answered' }]);
  assert.deepEqual(snapshot.members.map((m) => `${m.roomId}/${m.deviceId}`).sort(), [
    'r1/a1',
    'r1/b1',
  ]);

  // A node that no longer holds the rooms forgets them without a word to anyone.
  const before = delivery.got.get('b1')?.length;
  next.clear();
  assert.throws(() => next.members(ann, 'r1'), /not in/i);
  assert.equal(delivery.got.get('b1')?.length, before);
  next.close();
});
