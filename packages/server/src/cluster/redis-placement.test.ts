import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisPlacement } from './redis-placement.ts';
import { deletePrefix, keysFor } from './redis.ts';

/** Placement against real Redis: the meeting claims and the rooms lease. */

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `parley_place_${process.pid}_${Date.now().toString(36)}`;
const keys = keysFor(prefix);
const redis = new Redis(REDIS_URL);
const log = pino({ level: 'silent' });

after(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

/** Nodes sharing what the registry says: who is dead, who holds the rooms. */
const registry = { dead: new Set<string>(), leader: null as string | null };
const placementOf = (nodeId: string) =>
  new RedisPlacement(
    nodeId,
    redis,
    keys,
    {
      isAlive: (n) => !registry.dead.has(n),
      leaderWithin: () => Promise.resolve(registry.leader),
    },
    log,
  );

test("a call's owner is the node its id names", () => {
  assert.equal(placementOf('n1').callOwner('n7.0b1c'), 'n7');
});

test('a meeting is claimed by its first join, kept by a live holder, taken over from a dead one', async () => {
  const n1 = placementOf('n1');
  const n2 = placementOf('n2');
  assert.equal(
    await n2.meetingNode('m1', false),
    'n2',
    'nobody holds it: not claimed without a join',
  );
  assert.equal(await redis.get(keys.meeting('m1')), null);
  assert.equal(await n1.meetingNode('m1', true), 'n1');
  assert.equal(await n2.meetingNode('m1', true), 'n1', 'a live holder keeps it');
  assert.equal(await n2.meetingNode('m1', false), 'n1');
  n2.meetingClosed('m1');
  assert.equal(await redis.get(keys.meeting('m1')), 'n1', "not n2's to give up");
  registry.dead.add('n1');
  assert.equal(await n2.meetingNode('m1', false), 'n2', "a dead holder's meeting is nobody's");
  assert.equal(await n2.meetingNode('m1', true), 'n2', 'and the next join takes it over');
  registry.dead.delete('n1');
  assert.equal(await n1.meetingNode('m1', true), 'n2');
});

test('a closed media room frees its meeting', async () => {
  const n1 = placementOf('n1');
  await n1.meetingNode('m2', true);
  n1.meetingClosed('m2');
  // One connection: the GET runs after the release.
  assert.equal(await redis.get(keys.meeting('m2')), null);
  assert.equal(await placementOf('n2').meetingNode('m2', true), 'n2');
});

test('the rooms run on the lease holder, or here while nobody holds it', async () => {
  registry.leader = null;
  assert.equal(await placementOf('n1').roomsNode(10), 'n1');
  registry.leader = 'n3';
  assert.equal(await placementOf('n1').roomsNode(10), 'n3');
});

test('a lease: one holder at a time, renewed by it, free when released or lapsed; fenced by its token', async () => {
  const n1 = placementOf('n1');
  const n2 = placementOf('n2');
  const first = await n1.lease('webhooks:a', 5000);
  assert.equal(typeof first, 'number');
  assert.equal(await n2.lease('webhooks:a', 5000), null, 'held by n1');
  assert.equal(await n1.lease('webhooks:a', 5000), first, 'renewed: the same tenure');
  assert.equal(await n1.leaseHeld('webhooks:a', first!), true);
  assert.equal(await n2.leaseHeld('webhooks:a', first!), false, "n1's tenure, not n2's");
  assert.equal(typeof (await n2.lease('webhooks:b', 5000)), 'number', 'another lease is free');
  await n2.releaseLease('webhooks:a', first!);
  assert.equal(await n2.lease('webhooks:a', 5000), null, "not n2's to give up");
  await n1.releaseLease('webhooks:a', first!);
  const second = await n2.lease('webhooks:a', 150);
  assert.ok(second! > first!, 'released: taken, with a greater token');
  assert.equal(await n1.leaseHeld('webhooks:a', first!), false, "n1's tenure is over");
  // n2 dies (stops renewing): the lease lapses and n1 takes it.
  const deadline = Date.now() + 5000;
  let third: number | null;
  while ((third = await n1.lease('webhooks:a', 5000)) === null) {
    assert.ok(Date.now() < deadline, 'the lapsed lease is taken');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(third > second!, 'each taking has a greater token');
  assert.equal(await n2.lease('webhooks:a', 5000), null, 'n1 holds it now');
  assert.equal(await n2.leaseHeld('webhooks:a', second!), false, "n2's lapsed tenure is fenced");
  // n1 lapses too and takes it again: a new tenure, so what ran under the old one stops.
  await redis.del(keys.lease('webhooks:a'));
  const fourth = await n1.lease('webhooks:a', 5000);
  assert.ok(fourth! > third, 'taken again, not renewed');
  assert.equal(await n1.leaseHeld('webhooks:a', third), false);
});
