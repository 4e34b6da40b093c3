import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type AppError } from '@parley/protocol';
import { signalTarget } from '../relay/index.ts';
import { RouteCache } from './routes.ts';
import type { CallRoute } from '../core/index.ts';

const dev = (userId: string, deviceId: string) => ({ userId, deviceId, clientType: 'web' });
const route = (callId: string, caller = 'alice', callee = 'bob'): CallRoute => ({
  callId,
  media: 'video',
  caller: dev(caller, `${caller}-1`),
  callee,
  answeredBy: dev(callee, `${callee}-2`),
  callerNode: 'n1',
  answerNode: 'n2',
  createdAt: 0,
});

test('routes are found by id and by the selectors of dialects without call ids', () => {
  const cache = new RouteCache();
  cache.put(route('n1.a'));
  cache.put(route('n1.b', 'carol', 'alice'));
  assert.equal(cache.find('bob', { callId: 'n1.a' })?.callId, 'n1.a');
  assert.equal(cache.find('bob', { caller: 'alice', callee: 'bob' })?.callId, 'n1.a');
  assert.equal(cache.find('alice', { peer: 'carol' })?.callId, 'n1.b');
  // Not here, or not the sender's: the owner answers (with the engine's own error).
  assert.equal(cache.find('eve', { caller: 'alice', callee: 'bob' }), undefined);
  assert.equal(cache.find('bob', { peer: 'carol' }), undefined);
  cache.drop('n1.a');
  assert.equal(cache.find('bob', { callId: 'n1.a' }), undefined);
  assert.equal(cache.find('bob', { peer: 'alice' }), undefined);
  assert.equal(cache.size, 1);
});

test("a route's check is the engine's: caller device ⇄ answering device only", () => {
  const cache = new RouteCache();
  cache.put(route('n1.a'));
  const e = cache.find('alice', { callId: 'n1.a' })!;
  assert.equal(signalTarget(e.view, dev('alice', 'alice-1')).deviceId, 'bob-2');
  assert.equal(signalTarget(e.view, dev('bob', 'bob-2')).deviceId, 'alice-1');
  assert.throws(
    () => signalTarget(e.view, dev('bob', 'bob-1')),
    (err: AppError) => err.code === ErrorCode.NotInCall,
  );
});

test('a route put again (a device moved) keeps its relay state', () => {
  const cache = new RouteCache();
  cache.put(route('n1.a'));
  cache.find('alice', { callId: 'n1.a' })!.offerRelayed = true;
  cache.put({ ...route('n1.a'), answerNode: 'n3' });
  const e = cache.find('bob', { callId: 'n1.a' })!;
  assert.equal(e.offerRelayed, true);
  assert.equal(e.route.answerNode, 'n3');
});
