import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebhookEvent } from '../core/index.ts';
import { MemoryDirectory } from '../presence/index.ts';
import { announcingDirectory } from './presence-events.ts';
import { presenceEntry as entry } from '../presence/entry.kit.ts';

test('a user online on their first device, offline when their last goes, by disconnect or node death', async () => {
  const got: WebhookEvent[] = [];
  const dir = announcingDirectory(
    new MemoryDirectory(),
    (e) => got.push(e),
    () => 7,
  );
  const seen = () =>
    got.map((e) => `${e.type}:${String(e.data.userId)}:${String(e.data.deviceId)}`);
  await dir.add(entry('ann', 'a1', 'n1'));
  await dir.add(entry('ann', 'a2', 'n1'));
  await dir.add(entry('bo', 'b1', 'n1'));
  await dir.add(entry('bo', 'b2', 'n2'));
  await dir.add(entry('cy', 'c1', 'n2'));
  assert.deepEqual(seen(), ['user.online:ann:a1', 'user.online:bo:b1', 'user.online:cy:c1']);
  got.length = 0;

  // n1 dies: ann had both devices there (one user.offline), bo keeps the one on n2 (none).
  const taken = await dir.takeNode('n1');
  assert.deepEqual(taken.map((e) => e.deviceId).sort(), ['a1', 'a2', 'b1']);
  assert.deepEqual(seen(), ['user.offline:ann:a2']);
  assert.equal(got[0]!.stream, 'user:ann');
  assert.deepEqual(
    (await dir.devices('bo')).map((e) => e.deviceId),
    ['b2'],
  );
  assert.deepEqual(await dir.takeNode('n1'), [], 'taken once');

  // A disconnect takes the same path: cy's only device goes.
  await dir.remove('cy', 'c1');
  await dir.remove('cy', 'c1');
  assert.deepEqual(seen(), ['user.offline:ann:a2', 'user.offline:cy:c1']);
});
