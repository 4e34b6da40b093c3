import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeChatMessage,
  encodeChatMessage,
  type ChatMessage,
} from '../src/gateway/dialects/chat-protobuf.ts';
import {
  expectRecordRow,
  startServer,
  type Frame,
  type TestClient,
  type TestServer,
} from './harness.ts';
import {
  closeAllPeers,
  connectPeers,
  frameAdapter,
  nativeSignaling,
  videoCallSignaling,
  type SignalingAdapter,
} from './peer.ts';

/**
 * Interop between the three call-capable dialects: for every ordered pair, a caller of one
 * calls a callee of the other who is connected from two devices; both ring, one answers, the
 * other is told, and two real @roamhq/wrtc peers negotiate through the server (offer, answer,
 * trickled ICE with end-of-candidates), open a data channel and exchange a message each way.
 */

type DialectKey = 'native' | 'video_call' | 'chat';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Call {
  caller: string;
  callee: string;
  callId: string;
}

/** How one dialect drives each step of a call. */
interface Driver {
  invite(c: TestClient, caller: string, callee: string): Promise<void>;
  /** Waits for the ring; returns the call id the frame carries. */
  incoming(c: TestClient, caller: string): Promise<string>;
  accept(c: TestClient, call: Call): Promise<void>;
  /** The callee's other device is told that `clientType` answered. */
  answeredElsewhere(c: TestClient, call: Call, clientType: string): Promise<void>;
  /** The caller is told that `clientType` answered. */
  accepted(c: TestClient, call: Call, clientType: string): Promise<void>;
  signaling(c: TestClient, self: string, call: Call, name: string): SignalingAdapter;
  hangup(c: TestClient, call: Call): void;
  /** The end reason the party is told. */
  ended(c: TestClient, call: Call): Promise<string>;
  /** The record event's status. */
  recordStatus(c: TestClient, call: Call): Promise<string>;
  /** Error frames among what arrived. */
  errors(frames: Frame[]): Frame[];
  /** Offer / answer / ICE frames among what arrived. */
  relayed(frames: Frame[]): Frame[];
}

const vc = (type: string, call: { caller: string; callee: string }, extra: Json = {}) => ({
  type: 'video_call',
  data: { type, caller_userid: call.caller, callee_userid: call.callee, ...extra },
});

const chatOf = (f: Frame): ChatMessage | null =>
  Buffer.isBuffer(f.binary) ? decodeChatMessage(f.binary) : null;

function signalOf(f: Frame): Json | null {
  const m = chatOf(f);
  return m && m.contentType === 6 ? (JSON.parse(m.content) as Json) : null;
}

async function nextSignal(c: TestClient, type: string, callId?: string): Promise<Json> {
  const f = await c.next((f) => {
    const s = signalOf(f);
    return s?.type === type && (callId === undefined || s.callId === callId);
  });
  return signalOf(f)!;
}

function sendSignal(c: TestClient, from: string, to: string, content: Json): void {
  c.send(
    encodeChatMessage({
      from,
      to,
      contentType: 6,
      messageType: 1,
      content: JSON.stringify({ from, to, ...content }),
    }),
  );
}

const peerOf = (self: string, call: Call): string =>
  self === call.caller ? call.callee : call.caller;
const RELAYED = ['offer', 'answer', 'ice-candidate'];

/** chat-protobuf signaling for peer.ts: contentType 6 offer / answer / ice-candidate. */
function chatSignaling(c: TestClient, self: string, call: Call, name: string): SignalingAdapter {
  const to = peerOf(self, call);
  return frameAdapter(
    c,
    name,
    (s) =>
      encodeChatMessage({
        from: self,
        to,
        contentType: 6,
        messageType: 1,
        content: JSON.stringify(
          s.kind === 'ice'
            ? { type: 'ice-candidate', from: self, to, candidate: s.candidate }
            : { type: s.kind, from: self, to, [s.kind]: { type: s.kind, sdp: s.sdp } },
        ),
      }),
    (f) => {
      const s = signalOf(f);
      if (!s) return null;
      if (s.type === 'error' && RELAYED.includes(s.requestType as string)) {
        return { kind: 'error', message: `${s.requestType}: ${s.code}: ${s.message}` };
      }
      if (s.callId !== call.callId) return null;
      if (s.type === 'offer') return { kind: 'offer', sdp: s.offer.sdp as string };
      if (s.type === 'answer') return { kind: 'answer', sdp: s.answer.sdp as string };
      if (s.type === 'ice-candidate') return { kind: 'ice', candidate: s.candidate ?? null };
      return null;
    },
  );
}

const DRIVERS: Record<DialectKey, Driver> = {
  native: {
    async invite(c, _caller, callee) {
      const r = await c.request('call:invite', { callee, media: 'audio' });
      assert.equal(r.type, 'ok', JSON.stringify(r));
    },
    async incoming(c, caller) {
      const f = await c.nextType('call:incoming');
      assert.equal(f.data.caller, caller);
      return f.data.callId as string;
    },
    async accept(c, call) {
      const r = await c.request('call:accept', { callId: call.callId });
      assert.equal(r.type, 'ok', JSON.stringify(r));
    },
    async answeredElsewhere(c, call, clientType) {
      const f = await c.nextType('call:answered_elsewhere');
      assert.equal(f.data.callId, call.callId);
      assert.equal(f.data.fromClientType, clientType);
    },
    async accepted(c, call, clientType) {
      const f = await c.nextType('call:accepted');
      assert.equal(f.data.callId, call.callId);
      assert.equal(f.data.by.clientType, clientType);
    },
    signaling: (c, _self, call, name) => nativeSignaling(c, call.callId, name),
    hangup: (c, call) => c.send({ type: 'call:hangup', data: { callId: call.callId } }),
    async ended(c, call) {
      const f = await c.next((f) => f.type === 'call:ended' && f.data.callId === call.callId);
      return f.data.reason as string;
    },
    async recordStatus(c, call) {
      const f = await c.next(
        (f) => f.type === 'call:record' && f.data.record.callId === call.callId,
      );
      return f.data.record.status as string;
    },
    errors: (frames) => frames.filter((f) => f.type === 'error'),
    relayed: (frames) =>
      frames.filter((f) => ['call:offer', 'call:answer', 'call:ice'].includes(f.type as string)),
  },

  video_call: {
    async invite(c, caller, callee) {
      c.send(vc('call_request', { caller, callee }, { media: 'audio' }));
      return Promise.resolve();
    },
    async incoming(c, caller) {
      const f = await c.nextVc('call_request');
      assert.equal(f.data.caller_userid, caller);
      return f.data.call_id as string;
    },
    async accept(c, call) {
      c.send(vc('call_accept', call));
      return Promise.resolve();
    },
    async answeredElsewhere(c, call, clientType) {
      const f = await c.nextVc('handled_answer');
      assert.equal(f.data.call_id, call.callId);
      assert.equal(f.data.from_client_type, clientType);
    },
    async accepted(c, call, clientType) {
      const f = await c.nextVc('call_accept');
      assert.equal(f.data.call_id, call.callId);
      assert.equal(f.data.from_client_type, clientType);
    },
    signaling: (c, _self, call, name) => videoCallSignaling(c, call, name),
    hangup: (c, call) => c.send(vc('call_end', call)),
    async ended(c, call) {
      const f = await c.next((f) => f.data?.type === 'call_end' && f.data.call_id === call.callId);
      return f.data.reason as string;
    },
    async recordStatus(c, call) {
      const f = await c.next(
        (f) => f.data?.type === 'call_record' && f.data.call_id === call.callId,
      );
      return f.data.status as string;
    },
    errors: (frames) => frames.filter((f) => f.type === 'video_call' && f.data?.type === 'error'),
    relayed: (frames) => frames.filter((f) => String(f.data?.type).startsWith('rtc_')),
  },

  chat: {
    async invite(c, caller, callee) {
      sendSignal(c, caller, callee, { type: 'call-invite', fromName: caller });
      return Promise.resolve();
    },
    async incoming(c, caller) {
      const s = await nextSignal(c, 'call-invite');
      assert.equal(s.from, caller);
      return s.callId as string;
    },
    async accept(c, call) {
      sendSignal(c, call.callee, call.caller, { type: 'call-accept' });
      return Promise.resolve();
    },
    async answeredElsewhere(c, call, clientType) {
      const s = await nextSignal(c, 'call-handled', call.callId);
      assert.equal(s.accepted, true);
      assert.equal(s.fromClientType, clientType);
    },
    async accepted(c, call, clientType) {
      const s = await nextSignal(c, 'call-accept', call.callId);
      assert.equal(s.from, call.callee);
      assert.equal(s.fromClientType, clientType);
    },
    signaling: chatSignaling,
    hangup: (c, call) => sendSignal(c, call.caller, call.callee, { type: 'call-hangup' }),
    async ended(c, call) {
      return (await nextSignal(c, 'call-hangup', call.callId)).reason as string;
    },
    async recordStatus(c, call) {
      return (await nextSignal(c, 'call-record', call.callId)).status as string;
    },
    errors: (frames) => frames.filter((f) => signalOf(f)?.type === 'error'),
    relayed: (frames) => frames.filter((f) => RELAYED.includes(signalOf(f)?.type as string)),
  },
};

const DIALECTS: DialectKey[] = ['native', 'video_call', 'chat'];
const PAIRS = DIALECTS.flatMap((a) => DIALECTS.map((b) => [a, b] as const));

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  closeAllPeers();
  await srv.close();
});

test('interop: every ordered pair of call dialects rings two devices and connects WebRTC', async (t) => {
  assert.equal(PAIRS.length, 9);
  for (const [from, to] of PAIRS) {
    await t.test(`${from} caller → ${to} callee (2 devices)`, async () => {
      const tag = `${from}-${to}`;
      const [A, B] = [DRIVERS[from], DRIVERS[to]];
      const callerUser = `caller-${tag}`;
      const calleeUser = `callee-${tag}`;
      const caller = await srv.connect(callerUser, from, 'web');
      const calleeIos = await srv.connect(calleeUser, to, 'ios');
      const calleePc = await srv.connect(calleeUser, to, 'pc');

      await A.invite(caller, callerUser, calleeUser);
      const [id1, id2] = await Promise.all([
        B.incoming(calleeIos, callerUser),
        B.incoming(calleePc, callerUser),
      ]);
      assert.ok(id1);
      assert.equal(id2, id1, 'both devices ring for the same call');
      const call: Call = { caller: callerUser, callee: calleeUser, callId: id1 };

      await B.accept(calleePc, call);
      await Promise.all([
        A.accepted(caller, call, 'pc'),
        B.answeredElsewhere(calleeIos, call, 'pc'),
      ]);

      const link = await connectPeers(
        A.signaling(caller, callerUser, call, `${callerUser} (${from})`),
        B.signaling(calleePc, calleeUser, call, `${calleeUser} (${to})`),
        { callerMessage: `ping ${tag}`, calleeMessage: `pong ${tag}` },
      );
      try {
        assert.equal(link.calleeReceived, `ping ${tag}`);
        assert.equal(link.callerReceived, `pong ${tag}`);
        for (const side of [link.signals.caller, link.signals.callee]) {
          assert.equal(side.sent.sdp, 1);
          assert.equal(side.received.sdp, 1);
          assert.ok(side.received.ice >= 2 && side.received.endOfCandidates, JSON.stringify(side));
        }
      } finally {
        link.close();
      }

      A.hangup(caller, call);
      assert.equal(await B.ended(calleePc, call), 'hangup');
      for (const [d, c] of [
        [A, caller],
        [B, calleePc],
        [B, calleeIos],
      ] as const) {
        assert.equal(await d.recordStatus(c, call), 'completed');
      }
      await expectRecordRow(srv, call.callId, {
        caller: callerUser,
        callee: calleeUser,
        media: 'audio',
        reason: 'hangup',
        answered: { clientType: 'pc' },
      });
      // Nothing anyone sent was refused, and the device that lost got no offer, answer or ICE.
      const [rest, restPc, restIos] = await Promise.all(
        [caller, calleePc, calleeIos].map((c) => c.quiet(30)),
      );
      assert.deepEqual(A.errors(rest!), [], `${callerUser} got errors`);
      assert.deepEqual(B.errors([...restPc!, ...restIos!]), [], `${calleeUser} got errors`);
      assert.deepEqual(B.relayed(restIos!), [], 'the other callee device got no signaling');
      for (const c of [caller, calleeIos, calleePc]) c.close();
    });
  }
});
