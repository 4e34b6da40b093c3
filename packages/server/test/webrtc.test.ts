import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  type DialectKey,
  type Frame,
  type TestClient,
  type TestServer,
} from './harness.ts';
import {
  closeAllPeers,
  connectPeers,
  nativeSignaling,
  videoCallSignaling,
  type SignalingAdapter,
} from './peer.ts';

/**
 * Real WebRTC: two @roamhq/wrtc peer connections signal through Parley (every dialect pairing),
 * open a data channel on loopback host candidates and exchange a message each way.
 */

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  closeAllPeers();
  await srv.close();
});

/** One party of a call, driven in its own dialect. */
interface Party {
  user: string;
  dialect: DialectKey;
  client: TestClient;
}

const vc = (type: string, caller: string, callee: string, extra: object = {}) => ({
  type: 'video_call',
  data: { type, caller_userid: caller, callee_userid: callee, ...extra },
});

/** Caller invites, callee rings and accepts, caller is told. Returns the call id. */
async function establish(caller: Party, callee: Party): Promise<string> {
  if (caller.dialect === 'native') {
    const inv = await caller.client.request('call:invite', { callee: callee.user, media: 'video' });
    assert.equal(inv.type, 'ok', JSON.stringify(inv));
  } else {
    caller.client.send(vc('call_request', caller.user, callee.user, { media: 'video' }));
  }

  let callId: string;
  if (callee.dialect === 'native') {
    const incoming = await callee.client.nextType('call:incoming');
    assert.equal(incoming.data.caller, caller.user);
    callId = incoming.data.callId;
    const ok = await callee.client.request('call:accept', { callId });
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
  } else {
    const incoming = await callee.client.nextVc('call_request');
    assert.equal(incoming.data.caller_userid, caller.user);
    callId = incoming.data.call_id;
    callee.client.send(vc('call_accept', caller.user, callee.user));
  }

  if (caller.dialect === 'native') {
    assert.equal((await caller.client.nextType('call:accepted')).data.callId, callId);
  } else {
    assert.equal((await caller.client.nextVc('call_accept')).data.callee_userid, callee.user);
  }
  return callId;
}

/** The party's signalling adapter: native by call id, video_call by the two user ids only. */
function signaling(p: Party, caller: Party, callee: Party, callId: string): SignalingAdapter {
  const name = `${p.user} (${p.dialect})`;
  return p.dialect === 'native'
    ? nativeSignaling(p.client, callId, name)
    : videoCallSignaling(p.client, { caller: caller.user, callee: callee.user }, name);
}

function hangup(p: Party, caller: Party, callee: Party, callId: string): void {
  if (p.dialect === 'native') p.client.send({ type: 'call:hangup', data: { callId } });
  else p.client.send(vc('call_end', caller.user, callee.user));
}

async function expectEnded(p: Party): Promise<void> {
  if (p.dialect === 'native') {
    assert.equal((await p.client.nextType('call:ended')).data.reason, 'hangup');
  } else {
    assert.equal((await p.client.nextVc('call_end')).data.reason, 'hangup');
  }
}

async function expectRecord(p: Party, callId: string): Promise<void> {
  let rec: Frame;
  if (p.dialect === 'native') {
    rec = (await p.client.nextType('call:record')).data.record;
    assert.equal(rec.callId, callId);
  } else {
    rec = (await p.client.nextVc('call_record')).data;
    assert.equal(rec.call_id, callId);
  }
  assert.equal(rec.status, 'completed', JSON.stringify(rec));
  assert.ok(typeof rec.duration === 'number' && rec.duration >= 0, JSON.stringify(rec));
}

/** No error frame reached the party (everything it sent was accepted). */
async function expectNoErrors(p: Party): Promise<void> {
  const errors = (await p.client.quiet(50)).filter(
    (f) => f.type === 'error' || (f.type === 'video_call' && f.data?.type === 'error'),
  );
  assert.deepEqual(errors, [], `${p.user} (${p.dialect}) got errors`);
}

const PAIRS: Array<[DialectKey, DialectKey]> = [
  ['native', 'native'],
  ['video_call', 'video_call'],
  ['native', 'video_call'],
  ['video_call', 'native'],
];

for (const [callerDialect, calleeDialect] of PAIRS) {
  test(`data channel: ${callerDialect} caller <-> ${calleeDialect} callee`, async (t) => {
    const tag = `${callerDialect}-${calleeDialect}`;
    const caller: Party = {
      user: `alice-${tag}`,
      dialect: callerDialect,
      client: await srv.connect(`alice-${tag}`, callerDialect),
    };
    const callee: Party = {
      user: `bob-${tag}`,
      dialect: calleeDialect,
      client: await srv.connect(`bob-${tag}`, calleeDialect),
    };

    const t0 = performance.now();
    const callId = await establish(caller, callee);
    const link = await connectPeers(
      signaling(caller, caller, callee, callId),
      signaling(callee, caller, callee, callId),
      { callerMessage: `hello from ${caller.user}`, calleeMessage: `hello from ${callee.user}` },
    );
    try {
      t.diagnostic(
        `invite -> channel open ${(link.openedAt - t0).toFixed(0)} ms ` +
          `(offer -> open ${link.openMs.toFixed(0)} ms, round trip ${link.roundTripMs.toFixed(0)} ms)`,
      );
      assert.equal(link.calleeReceived, `hello from ${caller.user}`);
      assert.equal(link.callerReceived, `hello from ${callee.user}`);
      // Both descriptions and trickled candidates, end-of-candidates included, went through.
      for (const side of [link.signals.caller, link.signals.callee]) {
        assert.equal(side.sent.sdp, 1);
        assert.equal(side.received.sdp, 1);
        assert.ok(side.received.ice >= 2 && side.received.endOfCandidates, JSON.stringify(side));
      }
      assert.equal(link.signals.caller.sent.ice, link.signals.callee.received.ice);
      assert.equal(link.signals.callee.sent.ice, link.signals.caller.received.ice);

      hangup(caller, caller, callee, callId);
      await expectEnded(callee);
      await Promise.all([expectRecord(caller, callId), expectRecord(callee, callId)]);
    } finally {
      link.close();
    }
    await Promise.all([expectNoErrors(caller), expectNoErrors(callee)]);
    caller.client.close();
    callee.client.close();
  });
}
