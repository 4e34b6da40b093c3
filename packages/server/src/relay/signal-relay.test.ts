import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  sdpJson,
  type AppError,
  type DeviceRef,
  type IceEvent,
  type SdpEvent,
} from '@parley/protocol';
import { createLogger, Metrics } from '../observability/index.ts';
import { RelayRoute, type RouteView } from './relay-route.ts';
import { SignalRelay } from './signal-relay.ts';

const dev = (userId: string, deviceId: string): DeviceRef => ({
  userId,
  deviceId,
  clientType: 'web',
});
const alice = dev('alice', 'a1');
const bob = dev('bob', 'b2');
const ringing: RouteView = {
  callId: 'c1',
  phase: 'ringing',
  caller: alice,
  callee: 'bob',
  answeredBy: null,
  media: 'video',
  createdAt: 1000,
};
const accepted: RouteView = { ...ringing, phase: 'accepted', answeredBy: bob };

/** A relay on a hand-set clock, a route on `view`, and what it delivered, in order. */
function setup(view: RouteView, iceBufferMs = 5000) {
  const clock = { now: 1000 };
  const metrics = new Metrics();
  const relay = new SignalRelay({
    iceBufferMs,
    ringTtlMs: 30_000,
    metrics,
    log: createLogger('silent'),
    clock: () => clock.now,
  });
  const sent: Array<{ to: string; event: SdpEvent | IceEvent }> = [];
  const route = new RelayRoute(view, {
    toDevice: (to, event) => void sent.push({ to: to.deviceId, event }),
  });
  const kinds = () => sent.map((s) => `${s.event.type}→${s.to}`);
  return { clock, metrics, relay, route, sent, kinds };
}

const offer = { type: 'call:offer', call: { callId: 'c1' }, sdp: 'v=0 offer' } as const;
const answer = { type: 'call:answer', call: { callId: 'c1' }, sdp: 'v=0 answer' } as const;
const ice = (n: number) =>
  ({
    type: 'call:ice',
    call: { callId: 'c1' },
    candidate: { candidate: `cand${n}`, sdpMid: '0', sdpMLineIndex: 0 },
  }) as const;

test('an answered call relays device to device and builds the event once', () => {
  const { relay, route, sent, kinds } = setup(accepted);
  relay.relay(route, alice, offer);
  relay.relay(route, bob, answer);
  assert.deepEqual(kinds(), ['call:offer→b2', 'call:answer→a1']);
  assert.deepEqual(sent[0]!.event, {
    type: 'call:offer',
    callId: 'c1',
    caller: 'alice',
    callee: 'bob',
    media: 'video',
    from: 'alice',
    sdp: 'v=0 offer',
    [sdpJson]: undefined,
    origin: undefined,
  });
});

test("the SDP's JSON literal passes through to the event untouched", () => {
  const { relay, route, sent } = setup(accepted);
  const literal = new TextEncoder().encode('"v=0 offer"');
  relay.relay(route, alice, { ...offer, [sdpJson]: literal });
  assert.equal((sent[0]!.event as SdpEvent)[sdpJson], literal);
});

test('ICE before any offer waits for one, then follows it in order', () => {
  const { relay, route, kinds, sent } = setup(accepted);
  relay.relay(route, bob, ice(1));
  relay.relay(route, alice, ice(2));
  assert.deepEqual(kinds(), [], 'nothing goes before an offer');
  relay.relay(route, alice, offer);
  assert.deepEqual(kinds(), ['call:offer→b2', 'call:ice→a1', 'call:ice→b2']);
  relay.relay(route, alice, ice(3));
  assert.deepEqual(kinds().at(-1), 'call:ice→b2', 'after the offer, ICE goes at once');
  assert.equal((sent[1]!.event as IceEvent).from, 'bob');
});

test('early ICE older than the buffer time is dropped on the injected clock', () => {
  const { relay, route, kinds, clock } = setup(accepted, 100);
  relay.relay(route, alice, ice(1));
  clock.now += 150;
  relay.relay(route, alice, ice(2));
  relay.relay(route, alice, offer);
  assert.deepEqual(kinds(), ['call:offer→b2', 'call:ice→b2']);
});

test("an offer that went through elsewhere (the other node's) releases held ICE", () => {
  const { relay, route, kinds } = setup(accepted);
  relay.relay(route, bob, ice(1));
  relay.offerPassed(route);
  relay.offerPassed(route);
  assert.deepEqual(kinds(), ['call:ice→a1'], 'released once');
});

test("the caller's offer and ICE while ringing go to the device that answers", () => {
  const { relay, route, kinds, sent } = setup(ringing);
  relay.relay(route, alice, ice(1));
  relay.relay(route, alice, { ...offer, sdp: 'first' });
  relay.relay(route, alice, offer);
  relay.relay(route, alice, ice(2));
  assert.equal(route.holdsOffer, true);
  assert.deepEqual(kinds(), []);
  route.view = accepted;
  relay.answered(route);
  assert.deepEqual(kinds(), ['call:offer→b2', 'call:ice→b2', 'call:ice→b2']);
  assert.equal((sent[0]!.event as SdpEvent).sdp, 'v=0 offer', 'the latest offer replaces one');
  assert.equal(route.offerRelayed, true);
  assert.equal(route.holdsOffer, false);
});

test('ICE held while ringing without an offer waits for one after the answer', () => {
  const { relay, route, kinds } = setup(ringing);
  relay.relay(route, alice, ice(1));
  route.view = accepted;
  relay.answered(route);
  assert.deepEqual(kinds(), []);
  relay.relay(route, bob, offer);
  assert.deepEqual(kinds(), ['call:offer→a1', 'call:ice→b2']);
});

test('refusals: an answer while ringing, a stranger, a callee device that did not answer', () => {
  const codeOf = (fn: () => void): string => {
    try {
      fn();
    } catch (err) {
      return (err as AppError).code;
    }
    return 'none';
  };
  const r = setup(ringing);
  assert.equal(
    codeOf(() => r.relay.relay(r.route, alice, answer)),
    ErrorCode.InvalidState,
  );
  assert.equal(
    codeOf(() => r.relay.relay(r.route, bob, offer)),
    ErrorCode.InvalidState,
  );
  const a = setup(accepted);
  assert.equal(
    codeOf(() => a.relay.relay(a.route, dev('bob', 'b1'), ice(1))),
    ErrorCode.NotInCall,
  );
  assert.equal(
    codeOf(() => a.relay.relay(a.route, dev('eve', 'e1'), offer)),
    ErrorCode.NotInCall,
  );
  assert.deepEqual([...r.kinds(), ...a.kinds()], []);
});

test('setup time is observed once, at the first answer, on the injected clock', async () => {
  const { relay, route, metrics, clock } = setup(accepted);
  relay.relay(route, alice, offer);
  clock.now = 3500;
  relay.relay(route, bob, answer);
  clock.now = 9000;
  relay.relay(route, bob, answer);
  const h = (await metrics.setupSeconds.get()).values;
  assert.equal(h.find((v) => v.metricName?.endsWith('_count'))?.value, 1);
  assert.equal(h.find((v) => v.metricName?.endsWith('_sum'))?.value, 2.5);
});
