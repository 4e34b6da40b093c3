import { test } from 'node:test';
import assert from 'node:assert/strict';
import { granted } from './scope.ts';

test('granted: exact ids and * patterns of one kind', () => {
  const grants = ['voice', 'room:lobby', 'room:team-*', 'contact:*-ops', 'room:a*b*c'];
  assert.equal(granted(grants, 'room', 'lobby'), true);
  assert.equal(granted(grants, 'room', 'lobby2'), false);
  assert.equal(granted(grants, 'room', 'team-'), true);
  assert.equal(granted(grants, 'room', 'team-red'), true);
  assert.equal(granted(grants, 'room', 'xteam-red'), false);
  assert.equal(granted(grants, 'room', 'abc'), true);
  assert.equal(granted(grants, 'room', 'a-b-c'), true);
  assert.equal(granted(grants, 'room', 'ab'), false);
  assert.equal(granted(grants, 'room', 'acb'), false);
  assert.equal(granted(grants, 'contact', 'db-ops'), true);
  assert.equal(granted(grants, 'contact', 'lobby'), false);
  assert.equal(granted(grants, 'voice', 'x'), false);
  assert.equal(granted(['room:*'], 'room', 'anything'), true);
  assert.equal(granted([], 'room', 'lobby'), false);
});
