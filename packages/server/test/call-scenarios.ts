import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndReason, Media } from '@parley/protocol';
import type { callStarter } from './harness.ts';
import {
  quiet,
  recordRow,
  startServer,
  type Call,
  type DialectKey,
  type ExpectedRow,
  type TestClient,
  type TestServer,
} from './harness.ts';

/**
 * The 1:1 call scenarios every call dialect must pass, end to end over real sockets: each one
 * checks the events each device gets, the record event both parties get and the stored
 * `call_records` row. A dialect runs them through its driver (calls-native.test.ts,
 * calls-video-call.test.ts), which speaks its wire shapes and checks what only it sends.
 */

/** A call as a driver names it: by its parties, and by its id once the test knows it. */
export interface Parties {
  caller: string;
  callee: string;
  media: Media;
  callId?: string;
}

/** A call whose id the test knows. */
export type Known = Parties & { callId: string };

/** A call record event, in the terms the scenarios check. */
export interface RecordView {
  media: Media;
  startedAt: unknown;
  duration: number;
  ringMs: number;
}

/** One dialect's way of doing and observing what the scenarios do. */
export interface CallDriver {
  /** The suites' titles start with it: 'native calls'. */
  readonly title: string;
  readonly dialect: DialectKey;
  /** Before every user id, so that each dialect's users have names of their own. */
  readonly prefix: string;
  /** Starts a call (see callStarter); every callee device rings, with the dialect's checks. */
  readonly ring: ReturnType<typeof callStarter>;
  /** Sends an invite; resolves to the call id where the dialect acknowledges one. */
  invite(caller: TestClient, p: Parties, keepCalling?: true): Promise<string | undefined>;
  /** What the caller hears once its call rings on `devices` devices (if the dialect says). */
  ringing(caller: TestClient, callId: string | undefined, devices: number): Promise<void>;
  /** A callee device rings for `p`; resolves to the call id. */
  incoming(c: TestClient, p: Parties): Promise<string>;
  accept(c: TestClient, p: Known): Promise<void>;
  reject(c: TestClient, p: Known): Promise<void>;
  hangup(c: TestClient, p: Known): Promise<void>;
  /** The caller gives up on a call nobody answers. */
  noAnswer(c: TestClient, p: Known): Promise<void>;
  /** The callee's device invites the caller while the caller's call rings (glare). */
  inviteBack(c: TestClient, p: Known): Promise<void>;
  /** `c` tries `action` and is refused with `code`. */
  refused(
    c: TestClient,
    action: 'accept' | 'reject' | 'answer',
    p: Known,
    code: string,
  ): Promise<void>;
  /** The caller hears the answer; resolves to the answering device. */
  accepted(c: TestClient, p: Known): Promise<{ clientType: string; deviceId?: string }>;
  /** Another device of the callee hears that this one answered (or refused) the call. */
  elsewhere(
    c: TestClient,
    p: Known,
    by?: { clientType: string; deviceId?: string },
  ): Promise<{ accepted: boolean; fromClientType: string; timetag: unknown }>;
  /** `c` hears the call end for `reason` (`by` the user who ended it); resolves to its id. */
  ended(c: TestClient, p: Parties, reason: EndReason, by: string | null): Promise<string>;
  offer(c: TestClient, p: Known, sdp: string): void;
  answer(c: TestClient, p: Known, sdp: string): void;
  ice(c: TestClient, p: Known, candidate: unknown): void;
  /**
   * The next frame `c` gets (or, with `p`, the next of this call and kind) is the signal `kind`
   * sent by `from`; resolves to its SDP or candidate.
   */
  signal(
    c: TestClient,
    kind: 'offer' | 'answer' | 'ice',
    from: string,
    p: Known,
    next?: 'next',
  ): Promise<{ sdp?: unknown; candidate?: unknown }>;
  /** Every client in `told` gets the call's record with this outcome, and the row agrees. */
  recorded(
    call: Call,
    told: TestClient[],
    status: string,
    reason: EndReason,
    answered: ExpectedRow['answered'],
  ): Promise<RecordView[]>;
  /** Checks of the relay that only this dialect's wire has, on an answered call. */
  relayExtras?(caller: TestClient, answerer: TestClient, p: Known): Promise<void>;
}

/** A call under test, for the driver and for the records. */
const known = (call: Call): Known => ({
  caller: call.caller,
  callee: call.callee,
  media: call.media,
  callId: call.callId,
});

/**
 * A server of the suite's own (started before its tests, closed after) for 1:1 calls: invites
 * live 20 s unless `calls` says otherwise, a dropped device is given up after 100 ms.
 */
export function callServer(
  calls: Record<string, unknown>,
  limits?: Record<string, unknown>,
): { srv: TestServer } {
  const suite = { srv: null as unknown as TestServer };
  before(async () => {
    suite.srv = await startServer({
      calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100, ...calls },
      ...(limits ? { limits } : {}),
    });
  });
  after(() => suite.srv.close());
  return suite;
}

/** Runs every scenario through `d`, each suite on a server of its own. */
export function callScenarios(d: CallDriver): void {
  const u = (name: string) => `${d.prefix}${name}`;
  describe(d.title, () => {
    const s = callServer({}, { rateBurst: 1000 });

    test('rings every device; first answer wins; the other device is told; caller hangs up', async () => {
      const { call, devices } = await d.ring(s.srv, u('ring-alice'), u('ring-bob'), {
        media: 'audio',
      });
      const [alice, b1, b2] = devices;
      const p = known(call);
      await quiet(alice);

      await d.accept(b1, p);
      const by = await d.accepted(alice, p);
      assert.equal(by.clientType, 'web');
      const elsewhere = await d.elsewhere(b2, p, by);
      assert.equal(elsewhere.accepted, true);
      assert.equal(elsewhere.fromClientType, 'web');
      assert.equal(typeof elsewhere.timetag, 'number');

      // The second device's answer comes too late.
      await d.refused(b2, 'accept', p, 'invalid_state');
      await d.refused(b2, 'reject', p, 'invalid_state');

      await d.hangup(alice, p);
      await d.ended(b1, p, 'hangup', p.caller);
      const answered = { clientType: 'web', ...(by.deviceId ? { deviceId: by.deviceId } : {}) };
      const [rec] = await d.recorded(call, [alice, b1, b2], 'completed', 'hangup', answered);
      assert.equal(rec!.media, 'audio');
      assert.ok(rec!.startedAt);
      await quiet(alice, b1, b2);
    });

    test('the answering callee hangs up', async () => {
      const { call, devices } = await d.ring(s.srv, u('hu-alice'), u('hu-bob'), {
        to: ['android'],
      });
      const [alice, bob] = devices;
      const p = known(call);
      await d.accept(bob, p);
      await d.accepted(alice, p);
      await d.hangup(bob, p);
      await d.ended(alice, p, 'hangup', p.callee);
      await d.recorded(call, [alice, bob], 'completed', 'hangup', { clientType: 'android' });
      await quiet(alice, bob);
    });

    test('reject: the caller hears it, the other device hears accepted:false', async () => {
      const { call, devices } = await d.ring(s.srv, u('rj-alice'), u('rj-bob'), {
        to: ['web', 'android'],
      });
      const [alice, b1, b2] = devices;
      const p = known(call);
      await d.reject(b2, p);
      await d.ended(alice, p, 'rejected', p.callee);
      const elsewhere = await d.elsewhere(b1, p);
      assert.equal(elsewhere.accepted, false);
      assert.equal(elsewhere.fromClientType, 'android');
      const [rec] = await d.recorded(call, [alice, b1, b2], 'rejected', 'rejected', null);
      assert.equal(rec!.duration, 0);
      await quiet(alice, b1, b2);
    });

    test('busy: a callee in an accepted call makes the caller hear busy at once', async () => {
      const [A, B, C] = [u('busy-alice'), u('busy-bob'), u('busy-carol')];
      const { call: firstCall, devices } = await d.ring(s.srv, C, B, { to: ['web'] });
      const [carol, bob] = devices;
      const first = known(firstCall);
      const alice = await s.srv.connect(A, d.dialect);
      await d.accept(bob, first);
      await d.accepted(carol, first);

      const p: Parties = { caller: A, callee: B, media: 'video' };
      const acked = await d.invite(alice, p);
      const callId = await d.ended(alice, { ...p, ...(acked ? { callId: acked } : {}) }, 'busy', B);
      await d.recorded({ srv: s.srv, callId, ...p }, [alice, bob], 'busy', 'busy', null);
      await quiet(alice, bob, carol); // bob's device never rang

      // The first call is untouched.
      d.offer(carol, first, 'v=0 first');
      assert.equal((await d.signal(bob, 'offer', C, first)).sdp, 'v=0 first');
      await d.hangup(carol, first);
      await d.ended(bob, first, 'hangup', C);
    });

    test('no_answer reported by the caller ends the ringing on every callee device', async () => {
      const { call, devices } = await d.ring(s.srv, u('cna-alice'), u('cna-bob'));
      const [alice, b1, b2] = devices;
      const p = known(call);
      await d.noAnswer(alice, p);
      await d.ended(b1, p, 'no_answer', null);
      await d.ended(b2, p, 'no_answer', null);
      await d.recorded(call, [alice, b1, b2], 'missed', 'no_answer', null);
      await quiet(alice, b1, b2);
    });

    test('cancel: the caller hangs up while ringing; every callee device is told', async () => {
      const { call, devices } = await d.ring(s.srv, u('cx-alice'), u('cx-bob'));
      const [alice, b1, b2] = devices;
      const p = known(call);
      await d.hangup(alice, p);
      await d.ended(b1, p, 'cancelled', p.caller);
      await d.ended(b2, p, 'cancelled', p.caller);
      await d.recorded(call, [alice, b1, b2], 'cancelled', 'cancelled', null);
      await quiet(alice, b1, b2);
      // The call is gone: a late accept finds nothing.
      await d.refused(b1, 'accept', p, 'not_found');
    });

    test('disconnect: the caller drops mid-call; the callee hears after the grace', async () => {
      const { call, devices } = await d.ring(s.srv, u('dc-alice'), u('dc-bob'), {
        from: ['web', 'pc'],
        to: ['web'],
      });
      const [a1, a2, bob] = devices; // a2 stays online for the record
      const p = known(call);
      await d.accept(bob, p);
      await d.accepted(a1, p);
      a1.close();
      await d.ended(bob, p, 'disconnected', p.caller);
      await d.recorded(call, [a2, bob], 'completed', 'disconnected', { clientType: 'web' });
      await quiet(a2, bob);
    });

    test('disconnect: the answering device drops mid-call; the caller hears', async () => {
      const { call, devices } = await d.ring(s.srv, u('dd-alice'), u('dd-bob'), {
        to: ['ios'],
      });
      const [alice, bob] = devices;
      const p = known(call);
      await d.accept(bob, p);
      await d.accepted(alice, p);
      bob.close();
      await d.ended(alice, p, 'disconnected', p.callee);
      await d.recorded(call, [alice], 'completed', 'disconnected', { clientType: 'ios' });
      await quiet(alice);
    });

    test('offline: a callee with no device ends the call at once', async () => {
      const p: Parties = { caller: u('off-alice'), callee: u('off-bob'), media: 'video' };
      const alice = await s.srv.connect(p.caller, d.dialect);
      const acked = await d.invite(alice, p);
      const callId = await d.ended(
        alice,
        { ...p, ...(acked ? { callId: acked } : {}) },
        'offline',
        null,
      );
      await d.recorded({ srv: s.srv, callId, ...p }, [alice], 'missed', 'offline', null);
      await quiet(alice);
    });

    test('keepCalling: a callee device that connects while ringing rings too', async () => {
      const p: Parties = { caller: u('kc-alice'), callee: u('kc-bob'), media: 'video' };
      const alice = await s.srv.connect(p.caller, d.dialect);
      // Nobody online: with keepCalling the call waits instead of ending offline.
      const acked = await d.invite(alice, p, true);
      await d.ringing(alice, acked, 0);
      await quiet(alice);
      const b1 = await s.srv.connect(p.callee, d.dialect, 'web');
      const callId = await d.incoming(b1, { ...p, ...(acked ? { callId: acked } : {}) });
      const k: Known = { ...p, callId };
      const b2 = await s.srv.connect(p.callee, d.dialect, 'ios');
      assert.equal(await d.incoming(b2, k), callId);
      await d.accept(b2, k);
      assert.equal((await d.accepted(alice, k)).clientType, 'ios');
      assert.equal((await d.elsewhere(b1, k)).accepted, true);
      await d.hangup(b2, k);
      await d.ended(alice, k, 'hangup', p.callee);
      const call: Call = { srv: s.srv, ...k };
      await d.recorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'ios' });
      await quiet(alice, b1, b2);
    });

    test('without keepCalling a device that connects while ringing does not ring', async () => {
      const { call, devices } = await d.ring(s.srv, u('nkc-alice'), u('nkc-bob'), {
        to: ['web'],
      });
      const [alice, b1] = devices;
      const p = known(call);
      const b2 = await s.srv.connect(p.callee, d.dialect, 'ios');
      await quiet(b2);
      await d.hangup(alice, p);
      await d.ended(b1, p, 'cancelled', p.caller);
      await d.recorded(call, [alice, b1, b2], 'cancelled', 'cancelled', null);
      await quiet(alice, b1, b2);
    });

    test('glare: crossing invites resolve to one accepted call', async () => {
      // findGlare (calls/machine.ts): when B invites A while A→B is still ringing, B's invite is
      // taken as B's accept of the existing call: no second call rings A, A hears the answer,
      // B's inviting device is told it joined the existing call (`glare: true`), and B's other
      // devices are told it was answered elsewhere.
      const { call, devices } = await d.ring(s.srv, u('gl-alice'), u('gl-bob'));
      const [alice, b1, b2] = devices;
      const p = known(call);

      await d.inviteBack(b1, p);
      const by = await d.accepted(alice, p);
      assert.equal(by.clientType, 'web');
      assert.equal((await d.elsewhere(b2, p)).accepted, true);
      const live = s.srv.apps.flatMap((a) => a.engine.states(p.caller));
      assert.equal(live.length, 1, 'exactly one live call');
      await quiet(alice, b1, b2); // in particular, alice was never rung by bob

      d.offer(alice, p, 'v=0 glare');
      assert.equal((await d.signal(b1, 'offer', p.caller, p)).sdp, 'v=0 glare');
      await d.hangup(b1, p);
      await d.ended(alice, p, 'hangup', p.callee);
      const answered = { clientType: 'web', ...(by.deviceId ? { deviceId: by.deviceId } : {}) };
      await d.recorded(call, [alice, b1, b2], 'completed', 'hangup', answered);
    });

    test('signals go only caller device ⇄ answering device; early ICE waits for the offer', async () => {
      const { call, devices } = await d.ring(s.srv, u('rl-alice'), u('rl-bob'), {
        from: ['web', 'pc'],
      });
      const [a1, a2, b1, b2] = devices;
      const p = known(call);
      // A callee device may not signal before it answers.
      await d.refused(b2, 'answer', p, 'invalid_state');
      await d.accept(b1, p);
      await d.accepted(a1, p);
      await d.elsewhere(b2, p);

      // ICE before the first offer is held, not dropped and not delivered yet.
      const c1 = { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' };
      const c2 = { candidate: 'candidate:2 1 udp 1 10.0.0.2 5000 typ host', sdpMLineIndex: 0 };
      d.ice(a1, p, c1);
      d.ice(a1, p, c2);
      await quiet(b1);
      d.offer(a1, p, 'offer-1');
      // Delivered in order: the offer, then the held candidates.
      assert.equal((await d.signal(b1, 'offer', p.caller, p, 'next')).sdp, 'offer-1');
      assert.deepEqual((await d.signal(b1, 'ice', p.caller, p, 'next')).candidate, c1);
      assert.deepEqual((await d.signal(b1, 'ice', p.caller, p, 'next')).candidate, c2);

      d.answer(b1, p, 'answer-1');
      assert.equal((await d.signal(a1, 'answer', p.callee, p)).sdp, 'answer-1');
      d.ice(b1, p, c1);
      assert.deepEqual((await d.signal(a1, 'ice', p.callee, p)).candidate, c1);
      d.ice(a1, p, null);
      assert.equal((await d.signal(b1, 'ice', p.caller, p)).candidate, null);

      // Renegotiation, from either side.
      d.offer(b1, p, 'offer-2 from callee');
      assert.equal((await d.signal(a1, 'offer', p.callee, p)).sdp, 'offer-2 from callee');
      d.answer(a1, p, 'answer-2');
      assert.equal((await d.signal(b1, 'answer', p.caller, p)).sdp, 'answer-2');
      d.offer(a1, p, 'offer-3');
      assert.equal((await d.signal(b1, 'offer', p.caller, p)).sdp, 'offer-3');
      d.answer(b1, p, 'answer-3');
      assert.equal((await d.signal(a1, 'answer', p.callee, p)).sdp, 'answer-3');
      await d.relayExtras?.(a1, b1, p);

      // Nothing leaked to either user's other device, nothing duplicated.
      await quiet(a1, a2, b1, b2);

      await d.hangup(a1, p);
      await d.ended(b1, p, 'hangup', p.caller);
      await d.recorded(call, [a1, a2, b1, b2], 'completed', 'hangup', { clientType: 'web' });
      await quiet(a1, a2, b1, b2);
    });
  });

  describe(`${d.title} with a short invite lifetime`, () => {
    const s = callServer({ inviteTtlMs: 300 });

    test('no_answer: an unanswered invite ends for everyone', async () => {
      const { call, devices } = await d.ring(s.srv, u('na-alice'), u('na-bob'));
      const p = known(call);
      for (const c of devices) await d.ended(c, p, 'no_answer', null);
      const [rec] = await d.recorded(call, devices, 'missed', 'no_answer', null);
      assert.ok(rec!.ringMs >= 250, `rang ${rec!.ringMs} ms`);
      await quiet(...devices);
      const row = await recordRow(s.srv, p.callId);
      assert.ok(row!.ring_ms! >= 250, `ring_ms ${row!.ring_ms}`);
    });
  });

  describe(`${d.title} with busyPolicy ring`, () => {
    const s = callServer({ busyPolicy: 'ring' });

    test('a callee already in a call rings anyway (call waiting), and may refuse it', async () => {
      const [A, B, C] = [u('cw-alice'), u('cw-bob'), u('cw-carol')];
      const { call: firstCall, devices } = await d.ring(s.srv, C, B, { to: ['web'] });
      const [carol, bob] = devices;
      const first = known(firstCall);
      const alice = await s.srv.connect(A, d.dialect);
      await d.accept(bob, first);
      await d.accepted(carol, first);

      // Two calls wait in turn: alice gives up on the first, bob refuses the second.
      for (const end of ['cancelled', 'rejected'] as const) {
        const p: Parties = { caller: A, callee: B, media: 'video' };
        const acked = await d.invite(alice, p);
        await d.ringing(alice, acked, 1);
        const callId = await d.incoming(bob, { ...p, ...(acked ? { callId: acked } : {}) });
        assert.notEqual(callId, first.callId);
        await quiet(alice, bob, carol);
        const k: Known = { ...p, callId };
        if (end === 'cancelled') {
          await d.hangup(alice, k);
          await d.ended(bob, k, 'cancelled', A);
        } else {
          await d.reject(bob, k);
          await d.ended(alice, k, 'rejected', B);
        }
        await d.recorded({ srv: s.srv, ...k }, [alice, bob], end, end, null);
      }
      // The first call still relays, both ways.
      d.offer(carol, first, 'v=0 first');
      assert.equal((await d.signal(bob, 'offer', C, first)).sdp, 'v=0 first');
      d.offer(bob, first, 'v=0 back');
      assert.equal((await d.signal(carol, 'offer', B, first)).sdp, 'v=0 back');
      await d.hangup(bob, first);
      await d.ended(carol, first, 'hangup', B);
    });
  });
}
