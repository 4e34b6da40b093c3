import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type AppError, type DeviceRef, type ServerEvent } from '@parley/protocol';
import type { BusMessage, CallRoute } from '../core/index.ts';
import { signalTarget, type SignalDelivery } from '../relay/index.ts';
import { RouteCache } from './route-cache.ts';

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

/** A cache on node n1, with what it publishes and what it delivers here. */
const cacheOnN1 = () => {
  const published: Array<[string, BusMessage]> = [];
  const here: Array<[DeviceRef, ServerEvent]> = [];
  const delivery: SignalDelivery = { toDevice: (to, event) => void here.push([to, event]) };
  const cache = new RouteCache('n1', { publish: (n, m) => void published.push([n, m]) });
  return { cache, published, here, delivery };
};

test('routes are found by id and by the selectors of dialects without call ids', () => {
  const { cache, delivery } = cacheOnN1();
  cache.put(route('n1.a'), delivery);
  cache.put(route('n1.b', 'carol', 'alice'), delivery);
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
  const { cache, delivery } = cacheOnN1();
  cache.put(route('n1.a'), delivery);
  const view = cache.find('alice', { callId: 'n1.a' })!.relay.view;
  assert.equal(signalTarget(view, dev('alice', 'alice-1')).deviceId, 'bob-2');
  assert.equal(signalTarget(view, dev('bob', 'bob-2')).deviceId, 'alice-1');
  assert.throws(
    () => signalTarget(view, dev('bob', 'bob-1')),
    (err: AppError) => err.code === ErrorCode.NotInCall,
  );
});

test("a route's events go to the node of the device they are for", () => {
  const { cache, published, here, delivery } = cacheOnN1();
  cache.put(route('n1.a'), delivery);
  const relay = cache.find('alice', { callId: 'n1.a' })!.relay;
  const event = (from: string) =>
    ({
      type: 'call:ice',
      callId: 'n1.a',
      caller: 'alice',
      callee: 'bob',
      media: 'video',
      from,
      candidate: null,
    }) as const;
  relay.delivery.toDevice(dev('bob', 'bob-2'), event('alice'));
  relay.delivery.toDevice(dev('alice', 'alice-1'), event('bob'));
  assert.deepEqual(published, [
    ['n2', { kind: 'relay', to: dev('bob', 'bob-2'), event: event('alice') }],
  ]);
  assert.deepEqual(here, [[dev('alice', 'alice-1'), event('bob')]]);
});

test('a route put again (a device moved) keeps its relay state and follows the device', () => {
  const { cache, published, delivery } = cacheOnN1();
  cache.put(route('n1.a'), delivery);
  cache.find('alice', { callId: 'n1.a' })!.relay.offerRelayed = true;
  cache.put({ ...route('n1.a'), answerNode: 'n3' }, delivery);
  const e = cache.find('bob', { callId: 'n1.a' })!;
  assert.equal(e.relay.offerRelayed, true);
  assert.equal(e.route.answerNode, 'n3');
  e.relay.delivery.toDevice(dev('bob', 'bob-2'), {
    type: 'call:ice',
    callId: 'n1.a',
    caller: 'alice',
    callee: 'bob',
    media: 'video',
    from: 'alice',
    candidate: null,
  });
  assert.equal(published[0]?.[0], 'n3');
});

test("the owner's word that an offer went through is kept", () => {
  const { cache, delivery } = cacheOnN1();
  cache.put({ ...route('n1.a'), offerRelayed: true }, delivery);
  assert.equal(cache.find('bob', { callId: 'n1.a' })!.relay.offerRelayed, true);
});
