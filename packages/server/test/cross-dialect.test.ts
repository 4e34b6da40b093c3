import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectRecordRow, startServer, type Frame, type TestServer } from './harness.ts';

/**
 * A call between clients of different dialects: every event is encoded in the dialect of each
 * receiving connection, so each side sees only its own shapes.
 */

const vc = (
  type: string,
  caller: string,
  callee: string,
  extra: Record<string, unknown> = {},
): Frame => ({
  type: 'video_call',
  data: { type, caller_userid: caller, callee_userid: callee, ...extra },
});

const vcOf =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === 'video_call' && f.data?.type === type && f.data.call_id === callId;

const nOf =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

const cand = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0' };
const cand2 = { candidate: 'candidate:2 1 udp 2122260223 192.0.2.2 54321 typ host', sdpMid: '0' };

describe('cross-dialect calls', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { inviteTtlMs: 20_000, disconnectGraceMs: 100 } });
  });
  after(() => srv.close());

  test('native caller → video_call callee', async () => {
    const alice = await srv.connect('xn-alice', 'native');
    const bob = await srv.connect('xn-bob', 'video_call', 'android');

    const inv = await alice.request('call:invite', { callee: 'xn-bob', media: 'audio' });
    assert.equal(inv.type, 'ok');
    const callId = inv.data.callId as string;
    assert.equal((await alice.next(nOf('call:ringing', callId))).data.devices, 1);
    const req = await bob.next(vcOf('call_request', callId));
    assert.deepEqual(req.data, {
      type: 'call_request',
      caller_userid: 'xn-alice',
      callee_userid: 'xn-bob',
      call_id: callId,
      media: 'audio',
      caller_name: 'XN-ALICE',
    });

    bob.send(vc('call_accept', 'xn-alice', 'xn-bob'));
    const acc = await alice.next(nOf('call:accepted', callId));
    assert.equal(acc.data.by.userId, 'xn-bob');
    assert.equal(acc.data.by.clientType, 'android');

    // Early ICE from the native caller is held until its offer.
    alice.send({ type: 'call:ice', data: { callId, candidate: cand } });
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 native offer' } });
    const offer = await bob.next();
    assert.deepEqual(offer.data, {
      type: 'rtc_offer',
      caller_userid: 'xn-alice',
      callee_userid: 'xn-bob',
      call_id: callId,
      sdp: 'v=0 native offer',
      sdp_type: 'offer',
    });
    const ice = await bob.next();
    assert.equal(ice.data.type, 'rtc_ice_candidate');
    assert.deepEqual(ice.data.candidate, cand);

    bob.send(vc('rtc_answer', 'xn-alice', 'xn-bob', { sdp: 'v=0 vc answer', sdp_type: 'answer' }));
    const answer = await alice.next(nOf('call:answer', callId));
    assert.equal(answer.data.sdp, 'v=0 vc answer');
    assert.equal(answer.data.from, 'xn-bob');
    bob.send(vc('rtc_ice_candidate', 'xn-alice', 'xn-bob', { candidate: cand2 }));
    const bIce = await alice.next(nOf('call:ice', callId));
    assert.deepEqual(bIce.data.candidate, cand2);
    assert.equal(bIce.data.from, 'xn-bob');

    bob.send(vc('call_end', 'xn-alice', 'xn-bob'));
    const end = await alice.next(nOf('call:ended', callId));
    assert.equal(end.data.reason, 'hangup');
    assert.equal(end.data.by, 'xn-bob');

    const nRec = await alice.next(nOf('call:record', callId));
    assert.equal(nRec.data.record.status, 'completed');
    assert.equal(nRec.data.record.answeredBy.clientType, 'android');
    const vRec = await bob.next(vcOf('call_record', callId));
    assert.equal(vRec.data.status, 'completed');
    assert.equal(vRec.data.reason, 'hangup');
    assert.equal(vRec.data.media, 'audio');

    assert.deepEqual(await alice.quiet(), []);
    assert.deepEqual(await bob.quiet(), []);
    await expectRecordRow(srv, callId, {
      caller: 'xn-alice',
      callee: 'xn-bob',
      media: 'audio',
      reason: 'hangup',
      answered: { clientType: 'android', deviceId: acc.data.by.deviceId },
    });
  });

  test('video_call caller → native callee', async () => {
    const alice = await srv.connect('xv-alice', 'video_call', 'ios');
    const bob = await srv.connect('xv-bob', 'native', 'web');

    alice.send(vc('call_request', 'xv-alice', 'xv-bob'));
    const inc = await bob.nextType('call:incoming');
    const callId = inc.data.callId as string;
    assert.equal(inc.data.caller, 'xv-alice');
    assert.equal(inc.data.callee, 'xv-bob');
    assert.equal(inc.data.media, 'video');
    assert.equal(inc.data.callerDevice.clientType, 'ios');
    assert.deepEqual(await alice.quiet(), [], 'video_call shows no ringing notice');

    const ok = await bob.request('call:accept', { callId });
    assert.equal(ok.type, 'ok');
    const acc = await alice.next(vcOf('call_accept', callId));
    assert.equal(acc.data.caller_userid, 'xv-alice');
    assert.equal(acc.data.callee_userid, 'xv-bob');
    assert.equal(acc.data.from_client_type, 'web');

    alice.send(vc('rtc_offer', 'xv-alice', 'xv-bob', { sdp: 'v=0 vc offer', sdp_type: 'offer' }));
    const offer = await bob.next(nOf('call:offer', callId));
    assert.equal(offer.data.sdp, 'v=0 vc offer');
    assert.equal(offer.data.from, 'xv-alice');
    bob.send({ type: 'call:answer', data: { callId, sdp: 'v=0 native answer' } });
    const answer = await alice.next(vcOf('rtc_answer', callId));
    assert.equal(answer.data.sdp, 'v=0 native answer');
    assert.equal(answer.data.sdp_type, 'answer');

    alice.send(vc('rtc_ice_candidate', 'xv-alice', 'xv-bob', { candidate: cand }));
    assert.deepEqual((await bob.next(nOf('call:ice', callId))).data.candidate, cand);
    bob.send({ type: 'call:ice', data: { callId, candidate: cand2 } });
    assert.deepEqual((await alice.next(vcOf('rtc_ice_candidate', callId))).data.candidate, cand2);

    alice.send(vc('call_end', 'xv-alice', 'xv-bob'));
    const end = await bob.next(nOf('call:ended', callId));
    assert.equal(end.data.reason, 'hangup');
    assert.equal(end.data.by, 'xv-alice');

    const vRec = await alice.next(vcOf('call_record', callId));
    assert.equal(vRec.data.status, 'completed');
    assert.equal(vRec.data.caller_userid, 'xv-alice');
    const nRec = await bob.next(nOf('call:record', callId));
    assert.equal(nRec.data.record.status, 'completed');
    assert.equal(nRec.data.record.reason, 'hangup');

    assert.deepEqual(await alice.quiet(), []);
    assert.deepEqual(await bob.quiet(), []);
    await expectRecordRow(srv, callId, {
      caller: 'xv-alice',
      callee: 'xv-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'web' },
    });
  });

  test('one callee on two dialects: each device rings and is told in its own shape', async () => {
    const alice = await srv.connect('xm-alice', 'native');
    const bn = await srv.connect('xm-bob', 'native', 'web');
    const bv = await srv.connect('xm-bob', 'video_call', 'ios');
    const inv = await alice.request('call:invite', { callee: 'xm-bob', media: 'video' });
    const callId = inv.data.callId as string;
    assert.equal((await alice.next(nOf('call:ringing', callId))).data.devices, 2);
    await bn.next(nOf('call:incoming', callId));
    await bv.next(vcOf('call_request', callId));

    bv.send(vc('call_accept', 'xm-alice', 'xm-bob'));
    assert.equal((await alice.next(nOf('call:accepted', callId))).data.by.clientType, 'ios');
    const elsewhere = await bn.next(nOf('call:answered_elsewhere', callId));
    assert.equal(elsewhere.data.accepted, true);
    assert.equal(elsewhere.data.fromClientType, 'ios');

    // Signals reach the video_call device that answered, not the native one.
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 to ios' } });
    assert.equal((await bv.next(vcOf('rtc_offer', callId))).data.sdp, 'v=0 to ios');
    assert.deepEqual(await bn.quiet(), []);

    const r = await alice.request('call:hangup', { callId });
    assert.equal(r.type, 'ok');
    assert.equal((await bv.next(vcOf('call_end', callId))).data.reason, 'hangup');
    assert.equal((await bn.next(nOf('call:record', callId))).data.record.status, 'completed');
    assert.equal((await bv.next(vcOf('call_record', callId))).data.status, 'completed');
    assert.equal((await alice.next(nOf('call:record', callId))).data.record.status, 'completed');
    for (const c of [alice, bn, bv]) assert.deepEqual(await c.quiet(), []);
    await expectRecordRow(srv, callId, {
      caller: 'xm-alice',
      callee: 'xm-bob',
      media: 'video',
      reason: 'hangup',
      answered: { clientType: 'ios' },
    });
  });
});
