import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localPlacement } from './local-placement.ts';

test('a single node places every call, meeting and the rooms on itself', async () => {
  const p = localPlacement('solo');
  assert.equal(p.callOwner('other.abc'), 'solo', 'whatever node the id names');
  assert.equal(await p.meetingNode('m1', true), 'solo');
  assert.equal(await p.meetingNode('m1', false), 'solo');
  p.meetingClosed('m1');
  assert.equal(await p.meetingNode('m1', false), 'solo');
  assert.equal(await p.roomsNode(1_000), 'solo');
  const token = await p.lease('webhooks:x', 1000);
  assert.equal(typeof token, 'number', 'a single node holds every lease');
  assert.equal(await p.leaseHeld('webhooks:x', token!), true);
});
