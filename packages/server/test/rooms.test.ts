import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type Frame, type TestClient, type TestServer } from './harness.ts';
import { closeAllPeers, connectPeers, frameAdapter, type SignalingAdapter } from './peer.ts';

/**
 * The ROOM dialect (`/ws/room`, specs/room-webrtc-cmd.md) over real sockets: room membership
 * and its notifications, WEBRTC_* forwarding with every check of the spec (exact code and msg),
 * pair state and its cleanup, rooms shared with the native dialect, and real WebRTC between a
 * native and a ROOM peer.
 */

const SIGNAL = {
  offer: 'WEBRTC_OFFER',
  answer: 'WEBRTC_ANSWER',
  ice: 'WEBRTC_ICE_CANDIDATE',
} as const;
type Kind = keyof typeof SIGNAL;
const SIGNAL_CMDS: readonly string[] = Object.values(SIGNAL);

const PAYLOAD: Record<Kind, unknown> = {
  offer: { type: 'offer', sdp: 'v=0\r\no=- 123456789 2 IN IP4 127.0.0.1\r\n' },
  answer: { type: 'answer', sdp: 'v=0\r\no=- 987654321 2 IN IP4 127.0.0.1\r\n' },
  ice: {
    candidate: 'candidate:1 1 UDP 2130706431 192.168.1.100 54400 typ host',
    sdpMLineIndex: 0,
    sdpMid: '0',
  },
};

let seq = 0;
const newRequestId = (): string => `webrtc_${Date.now()}_${(++seq).toString(36)}`;

/** A ROOM client; with the `voice` grant unless told otherwise. */
function roomClient(srv: TestServer, userId: string, voice = true): Promise<TestClient> {
  return srv.connect(userId, 'room', 'web', { grants: voice ? ['voice'] : [] });
}

/** Sends a ROOM request and waits for the frame that answers its requestId. */
function roomRequest(c: TestClient, cmd: string, data: unknown): Promise<Frame> {
  const requestId = newRequestId();
  c.send({ requestId, module: 'ROOM', cmd, code: 200, msg: 'success', data });
  return c.next((f) => f.requestId === requestId);
}

const ok = (requestId: unknown, cmd: string, data: unknown) => ({
  requestId,
  module: 'ROOM',
  cmd,
  code: 200,
  msg: 'success',
  data,
});

async function join(c: TestClient, roomId: string): Promise<Frame> {
  const r = await roomRequest(c, 'JOIN_ROOM', { roomId });
  assert.equal(r.code, 200, JSON.stringify(r));
  return r;
}

/** Sends a WEBRTC_* frame exactly as the spec shows it; returns the frame. */
function sendSignal(
  c: TestClient,
  kind: Kind,
  from: string,
  to: string,
  payload: unknown = PAYLOAD[kind],
): Frame {
  const f = ok(newRequestId(), SIGNAL[kind], { from, to, data: payload });
  c.send(f);
  return f;
}

/** The target receives the sender's frame unchanged (requestId intact). */
async function expectForwarded(target: TestClient, sent: Frame): Promise<void> {
  const got = await target.next((f) => f.requestId === sent.requestId);
  assert.deepEqual(got, sent);
}

/** The sender gets the spec's error frame for its request. */
async function expectError(c: TestClient, sent: Frame, code: number, msg: string): Promise<void> {
  const got = await c.next((f) => f.requestId === sent.requestId);
  assert.deepEqual(got, {
    requestId: sent.requestId,
    module: 'ROOM',
    cmd: sent.cmd,
    code,
    msg,
    data: null,
  });
}

/** Sends a signal and expects it forwarded to `target` (and nothing back to the sender). */
async function relay(
  c: TestClient,
  kind: Kind,
  from: string,
  to: string,
  target: TestClient,
): Promise<Frame> {
  const sent = sendSignal(c, kind, from, to);
  await expectForwarded(target, sent);
  return sent;
}

async function memberEvent(c: TestClient, cmd: 'MEMBER_JOINED' | 'MEMBER_LEFT', userId: string) {
  const f = await c.next((x) => x.cmd === cmd && x.data?.userId === userId);
  assert.match(String(f.requestId), /^srv_[0-9a-f-]{36}$/);
  return f;
}

const NO_CONNECTION = '没有对应的连接请求';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  closeAllPeers();
  await srv.close();
});

describe('membership', () => {
  test('join, members, leave, with MEMBER_JOINED / MEMBER_LEFT', async () => {
    const alice = await roomClient(srv, 'm-alice');
    const bob = await roomClient(srv, 'm-bob');

    const r1 = await roomRequest(alice, 'JOIN_ROOM', { roomId: 'm-room' });
    assert.deepEqual(
      r1,
      ok(r1.requestId, 'JOIN_ROOM', {
        roomId: 'm-room',
        members: [{ userId: 'm-alice', name: 'M-ALICE' }],
      }),
    );

    const r2 = await roomRequest(bob, 'JOIN_ROOM', { roomId: 'm-room' });
    assert.deepEqual(r2.data.members, [
      { userId: 'm-alice', name: 'M-ALICE' },
      { userId: 'm-bob', name: 'M-BOB' },
    ]);
    const joined = await memberEvent(alice, 'MEMBER_JOINED', 'm-bob');
    assert.deepEqual(
      joined,
      ok(joined.requestId, 'MEMBER_JOINED', { roomId: 'm-room', userId: 'm-bob', name: 'M-BOB' }),
    );

    // Joining again from the same device is idempotent and tells nobody.
    assert.equal((await join(bob, 'm-room')).data.members.length, 2);

    const m = await roomRequest(alice, 'ROOM_MEMBERS', { roomId: 'm-room' });
    assert.deepEqual(
      m,
      ok(m.requestId, 'ROOM_MEMBERS', {
        roomId: 'm-room',
        members: [
          { userId: 'm-alice', name: 'M-ALICE' },
          { userId: 'm-bob', name: 'M-BOB' },
        ],
      }),
    );

    const l = await roomRequest(bob, 'LEAVE_ROOM', { roomId: 'm-room' });
    assert.deepEqual(l, ok(l.requestId, 'LEAVE_ROOM', { roomId: 'm-room' }));
    const left = await memberEvent(alice, 'MEMBER_LEFT', 'm-bob');
    assert.deepEqual(
      left,
      ok(left.requestId, 'MEMBER_LEFT', { roomId: 'm-room', userId: 'm-bob', name: 'M-BOB' }),
    );
    assert.notEqual(left.requestId, joined.requestId);

    // Not a member (any more): members and leave are refused with 1000.
    for (const cmd of ['ROOM_MEMBERS', 'LEAVE_ROOM']) {
      const e = await roomRequest(bob, cmd, { roomId: 'm-room' });
      assert.deepEqual(e, {
        requestId: e.requestId,
        module: 'ROOM',
        cmd,
        code: 1000,
        msg: '用户不在该房间内',
        data: null,
      });
    }
    assert.deepEqual(await alice.quiet(100), [], 'no duplicate notifications');
    assert.deepEqual(await bob.quiet(0), []);
  });

  test('a user in several rooms', async () => {
    const alice = await roomClient(srv, 's-alice');
    const bob = await roomClient(srv, 's-bob');
    const carol = await roomClient(srv, 's-carol');
    await join(alice, 's-r1');
    await join(alice, 's-r2');
    await join(bob, 's-r1');
    await join(carol, 's-r2');
    await memberEvent(alice, 'MEMBER_JOINED', 's-bob');
    await memberEvent(alice, 'MEMBER_JOINED', 's-carol');

    // Each room lists its own members.
    const r1 = await roomRequest(alice, 'ROOM_MEMBERS', { roomId: 's-r1' });
    assert.deepEqual(
      (r1.data.members as Frame[]).map((m) => String(m.userId)),
      ['s-alice', 's-bob'],
    );
    const r2 = await roomRequest(alice, 'ROOM_MEMBERS', { roomId: 's-r2' });
    assert.deepEqual(
      (r2.data.members as Frame[]).map((m) => String(m.userId)),
      ['s-alice', 's-carol'],
    );

    // alice shares a room with each; bob and carol share none.
    await relay(alice, 'offer', 's-alice', 's-bob', bob);
    await relay(alice, 'offer', 's-alice', 's-carol', carol);
    const cross = sendSignal(bob, 'offer', 's-bob', 's-carol');
    await expectError(bob, cross, 1000, '用户不在同一房间内');

    // Leaving one room tells that room only, and keeps the other.
    await roomRequest(alice, 'LEAVE_ROOM', { roomId: 's-r1' });
    await memberEvent(bob, 'MEMBER_LEFT', 's-alice');
    const toBob = sendSignal(alice, 'offer', 's-alice', 's-bob');
    await expectError(alice, toBob, 1000, '用户不在同一房间内');
    await relay(alice, 'offer', 's-alice', 's-carol', carol);
    assert.deepEqual(await carol.quiet(100), [], 'carol was not told about room s-r1');
  });

  test('disconnect removes membership and notifies MEMBER_LEFT; a user stays while any device is in', async () => {
    const alice = await roomClient(srv, 'd-alice');
    const bob1 = await roomClient(srv, 'd-bob');
    const bob2 = await roomClient(srv, 'd-bob');
    await join(alice, 'd-room');
    await join(bob1, 'd-room');
    await memberEvent(alice, 'MEMBER_JOINED', 'd-bob');
    await join(bob2, 'd-room');

    // A signal reaches every device of the target that joined the room.
    const sent = await relay(alice, 'offer', 'd-alice', 'd-bob', bob1);
    await expectForwarded(bob2, sent);

    bob1.close();
    await bob1.waitClose();
    assert.deepEqual(await alice.quiet(150), [], 'bob is still in through his other device');
    assert.equal((await roomRequest(alice, 'ROOM_MEMBERS', { roomId: 'd-room' })).code, 200);

    bob2.close();
    const left = await memberEvent(alice, 'MEMBER_LEFT', 'd-bob');
    assert.deepEqual(left.data, { roomId: 'd-room', userId: 'd-bob', name: 'D-BOB' });
    const m = await roomRequest(alice, 'ROOM_MEMBERS', { roomId: 'd-room' });
    assert.deepEqual(m.data.members, [{ userId: 'd-alice', name: 'D-ALICE' }]);
  });
});

describe('signaling checks (spec codes and messages)', () => {
  test('offer, answer and ICE both ways are forwarded exactly, with no ack to the sender', async () => {
    const alice = await roomClient(srv, 'f-alice');
    const bob = await roomClient(srv, 'f-bob', false);
    await join(alice, 'f-room');
    await join(bob, 'f-room');
    await memberEvent(alice, 'MEMBER_JOINED', 'f-bob');

    await relay(alice, 'offer', 'f-alice', 'f-bob', bob);
    // The callee needs no grant to answer or trickle.
    await relay(bob, 'answer', 'f-bob', 'f-alice', alice);
    await relay(alice, 'ice', 'f-alice', 'f-bob', bob);
    await relay(bob, 'ice', 'f-bob', 'f-alice', alice);
    // End-of-candidates (null) is opaque data like any other.
    await relay(alice, 'ice', 'f-alice', 'f-bob', bob);
    const end = sendSignal(bob, 'ice', 'f-bob', 'f-alice', null);
    await expectForwarded(alice, end);
    // Renegotiation: a new offer, answered again.
    await relay(alice, 'offer', 'f-alice', 'f-bob', bob);
    await relay(bob, 'answer', 'f-bob', 'f-alice', alice);
    assert.deepEqual(await alice.quiet(100), [], 'no ack, no stray frame');
    assert.deepEqual(await bob.quiet(0), []);
  });

  test('not in the same room → 1000 用户不在同一房间内', async () => {
    const alice = await roomClient(srv, 'n-alice');
    const bob = await roomClient(srv, 'n-bob');
    await join(alice, 'n-room-a');
    await join(bob, 'n-room-b');
    for (const kind of ['offer', 'answer', 'ice'] as const) {
      const sent = sendSignal(alice, kind, 'n-alice', 'n-bob');
      await expectError(alice, sent, 1000, '用户不在同一房间内');
    }
    // The sender in no room at all, the target online in one.
    const carol = await roomClient(srv, 'n-carol');
    const sent = sendSignal(carol, 'offer', 'n-carol', 'n-bob');
    await expectError(carol, sent, 1000, '用户不在同一房间内');
    assert.deepEqual(await bob.quiet(100), []);
  });

  test('target offline → 1000 目标用户不在线', async () => {
    const alice = await roomClient(srv, 'o-alice');
    await join(alice, 'o-room');
    const ghost = sendSignal(alice, 'offer', 'o-alice', 'o-nobody');
    await expectError(alice, ghost, 1000, '目标用户不在线');

    // A member who disconnects is offline afterwards.
    const bob = await roomClient(srv, 'o-bob');
    await join(bob, 'o-room');
    await memberEvent(alice, 'MEMBER_JOINED', 'o-bob');
    bob.close();
    await memberEvent(alice, 'MEMBER_LEFT', 'o-bob');
    const late = sendSignal(alice, 'offer', 'o-alice', 'o-bob');
    await expectError(alice, late, 1000, '目标用户不在线');
  });

  test('answer without an offer, answer to oneself, ICE without an exchange → 1000 没有对应的连接请求', async () => {
    const alice = await roomClient(srv, 'x-alice');
    const bob = await roomClient(srv, 'x-bob');
    await join(alice, 'x-room');
    await join(bob, 'x-room');
    await memberEvent(alice, 'MEMBER_JOINED', 'x-bob');

    await expectError(bob, sendSignal(bob, 'answer', 'x-bob', 'x-alice'), 1000, NO_CONNECTION);
    await expectError(alice, sendSignal(alice, 'ice', 'x-alice', 'x-bob'), 1000, NO_CONNECTION);
    await expectError(bob, sendSignal(bob, 'ice', 'x-bob', 'x-alice'), 1000, NO_CONNECTION);

    await relay(alice, 'offer', 'x-alice', 'x-bob', bob);
    // The offerer cannot answer its own offer; the callee can.
    await expectError(alice, sendSignal(alice, 'answer', 'x-alice', 'x-bob'), 1000, NO_CONNECTION);
    await relay(bob, 'answer', 'x-bob', 'x-alice', alice);
    assert.deepEqual(await alice.quiet(100), []);
    assert.deepEqual(await bob.quiet(0), []);
  });

  test('with rooms.voiceGrant set, no grant → 1000 无权限发起语音连接', async () => {
    const strict = await startServer({ rooms: { voiceGrant: 'voice' } });
    try {
      const alice = await roomClient(strict, 'g-alice', false);
      const bob = await roomClient(strict, 'g-bob');
      await join(alice, 'g-room');
      await join(bob, 'g-room');
      const sent = sendSignal(alice, 'offer', 'g-alice', 'g-bob');
      await expectError(alice, sent, 1000, '无权限发起语音连接');
      assert.deepEqual(
        (await bob.quiet(100)).filter((f) => SIGNAL_CMDS.includes(String(f.cmd))),
        [],
        'nothing forwarded',
      );
      // Having been refused, there is no pair either.
      await expectError(bob, sendSignal(bob, 'answer', 'g-bob', 'g-alice'), 1000, NO_CONNECTION);
    } finally {
      await strict.close();
    }
  });

  test('spoofed from → 1000 发送方与登录用户不一致, nothing forwarded', async () => {
    const alice = await roomClient(srv, 'p-alice');
    const bob = await roomClient(srv, 'p-bob');
    const carol = await roomClient(srv, 'p-carol');
    for (const c of [alice, bob, carol]) await join(c, 'p-room');
    for (const kind of ['offer', 'answer', 'ice'] as const) {
      const sent = sendSignal(alice, kind, 'p-carol', 'p-bob');
      await expectError(alice, sent, 1000, '发送方与登录用户不一致');
    }
    assert.deepEqual(
      (await bob.quiet(100)).filter((f) => SIGNAL_CMDS.includes(String(f.cmd))),
      [],
    );
  });

  test('by default every member may offer: sharing the room is the permission', async () => {
    const alice = await roomClient(srv, 'd-alice', false);
    const bob = await roomClient(srv, 'd-bob', false);
    await join(alice, 'd-room');
    await join(bob, 'd-room');
    await relay(alice, 'offer', 'd-alice', 'd-bob', bob);
  });
});

describe('pair state cleanup', () => {
  test('a side leaving the room forgets the pair', async () => {
    const alice = await roomClient(srv, 'c-alice');
    const bob = await roomClient(srv, 'c-bob');
    await join(alice, 'c-room');
    await join(bob, 'c-room');
    await relay(alice, 'offer', 'c-alice', 'c-bob', bob);
    await relay(alice, 'ice', 'c-alice', 'c-bob', bob);

    await roomRequest(bob, 'LEAVE_ROOM', { roomId: 'c-room' });
    await join(bob, 'c-room');
    await expectError(bob, sendSignal(bob, 'answer', 'c-bob', 'c-alice'), 1000, NO_CONNECTION);
    await expectError(alice, sendSignal(alice, 'ice', 'c-alice', 'c-bob'), 1000, NO_CONNECTION);

    // A fresh offer works again.
    await relay(alice, 'offer', 'c-alice', 'c-bob', bob);
    await relay(bob, 'answer', 'c-bob', 'c-alice', alice);
  });

  test('a pair survives while the two still share another room', async () => {
    const alice = await roomClient(srv, 'k-alice');
    const bob = await roomClient(srv, 'k-bob');
    for (const c of [alice, bob]) {
      await join(c, 'k-r1');
      await join(c, 'k-r2');
    }
    await relay(alice, 'offer', 'k-alice', 'k-bob', bob);
    await roomRequest(bob, 'LEAVE_ROOM', { roomId: 'k-r1' });
    await relay(bob, 'answer', 'k-bob', 'k-alice', alice);
  });

  test('a side disconnecting forgets the pair', async () => {
    const alice = await roomClient(srv, 'e-alice');
    let bob = await roomClient(srv, 'e-bob');
    await join(alice, 'e-room');
    await join(bob, 'e-room');
    await relay(alice, 'offer', 'e-alice', 'e-bob', bob);
    await relay(bob, 'answer', 'e-bob', 'e-alice', alice);

    bob.close();
    await memberEvent(alice, 'MEMBER_LEFT', 'e-bob');
    bob = await roomClient(srv, 'e-bob');
    await join(bob, 'e-room');
    await memberEvent(alice, 'MEMBER_JOINED', 'e-bob');
    await expectError(bob, sendSignal(bob, 'answer', 'e-bob', 'e-alice'), 1000, NO_CONNECTION);
    await expectError(bob, sendSignal(bob, 'ice', 'e-bob', 'e-alice'), 1000, NO_CONNECTION);
    await expectError(alice, sendSignal(alice, 'ice', 'e-alice', 'e-bob'), 1000, NO_CONNECTION);
  });

  test('an idle pair expires after rooms.pairTimeoutMs; traffic keeps it alive', async () => {
    const fast = await startServer({ rooms: { pairTimeoutMs: 200 } });
    try {
      const alice = await roomClient(fast, 'alice');
      const bob = await roomClient(fast, 'bob');
      const carol = await roomClient(fast, 'carol');
      for (const c of [alice, bob, carol]) await join(c, 'room');

      // alice → bob stays busy (ICE every 50 ms) for longer than the timeout.
      await relay(alice, 'offer', 'alice', 'bob', bob);
      // alice → carol is left idle.
      await relay(alice, 'offer', 'alice', 'carol', carol);
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 50));
        await relay(alice, 'ice', 'alice', 'bob', bob);
      }
      await relay(bob, 'answer', 'bob', 'alice', alice);
      // Idle for 500 ms at least: the sweeper (every 200 ms) dropped alice → carol.
      await new Promise((r) => setTimeout(r, 150));
      await expectError(carol, sendSignal(carol, 'answer', 'carol', 'alice'), 1000, NO_CONNECTION);
      await expectError(alice, sendSignal(alice, 'ice', 'alice', 'carol'), 1000, NO_CONNECTION);

      // And the answered pair expires too once idle.
      await new Promise((r) => setTimeout(r, 500));
      await expectError(alice, sendSignal(alice, 'ice', 'alice', 'bob'), 1000, NO_CONNECTION);
      await expectError(bob, sendSignal(bob, 'ice', 'bob', 'alice'), 1000, NO_CONNECTION);
    } finally {
      await fast.close();
    }
  });
});

describe('rooms are shared with the native dialect', () => {
  /** A native room:signal with a requestId; resolves with the requestId once acknowledged. */
  async function nativeSignal(n: TestClient, to: string, kind: Kind, payload = PAYLOAD[kind]) {
    const requestId = newRequestId();
    n.send({ type: 'room:signal', data: { to, kind, payload }, requestId });
    const ack = await n.next((f) => f.requestId === requestId);
    assert.deepEqual(ack, { type: 'ok', requestId, data: {} });
    return requestId;
  }

  test('membership, notifications and offer/answer/ICE both directions', async () => {
    const rob = await roomClient(srv, 'v-rob');
    const nina = await srv.connect('v-nina', 'native', 'web', { grants: ['voice'] });
    await join(rob, 'v-mixed');

    const joined = await nina.request('room:join', { roomId: 'v-mixed' });
    assert.equal(joined.type, 'ok', JSON.stringify(joined));
    assert.deepEqual(joined.data.members, [
      { userId: 'v-rob', name: 'V-ROB' },
      { userId: 'v-nina', name: 'V-NINA' },
    ]);
    const mj = await memberEvent(rob, 'MEMBER_JOINED', 'v-nina');
    assert.deepEqual(mj.data, { roomId: 'v-mixed', userId: 'v-nina', name: 'V-NINA' });
    const members = await roomRequest(rob, 'ROOM_MEMBERS', { roomId: 'v-mixed' });
    assert.equal(members.data.members.length, 2);

    // ROOM → native: the native client gets kind, from, to, payload and the requestId.
    const offer = sendSignal(rob, 'offer', 'v-rob', 'v-nina');
    const got = await nina.nextType('room:signal');
    assert.deepEqual(got.data, {
      type: 'room:signal',
      kind: 'offer',
      from: 'v-rob',
      to: 'v-nina',
      payload: PAYLOAD.offer,
      requestId: offer.requestId,
    });

    // native → ROOM: exactly the spec's frame, with the native requestId.
    const answerId = await nativeSignal(nina, 'v-rob', 'answer');
    await expectForwarded(
      rob,
      ok(answerId, 'WEBRTC_ANSWER', {
        from: 'v-nina',
        to: 'v-rob',
        data: PAYLOAD.answer,
      }),
    );
    const iceId = await nativeSignal(nina, 'v-rob', 'ice');
    await expectForwarded(
      rob,
      ok(iceId, 'WEBRTC_ICE_CANDIDATE', {
        from: 'v-nina',
        to: 'v-rob',
        data: PAYLOAD.ice,
      }),
    );
    const ice = sendSignal(rob, 'ice', 'v-rob', 'v-nina');
    const gotIce = await nina.nextType('room:signal');
    assert.equal(gotIce.data.kind, 'ice');
    assert.equal(gotIce.data.requestId, ice.requestId);
    assert.deepEqual(gotIce.data.payload, PAYLOAD.ice);

    // The other way round: native offers, ROOM answers.
    const offerId = await nativeSignal(nina, 'v-rob', 'offer');
    await expectForwarded(
      rob,
      ok(offerId, 'WEBRTC_OFFER', {
        from: 'v-nina',
        to: 'v-rob',
        data: PAYLOAD.offer,
      }),
    );
    const answer = sendSignal(rob, 'answer', 'v-rob', 'v-nina');
    assert.equal((await nina.nextType('room:signal')).data.requestId, answer.requestId);

    // A native signal without requestId reaches ROOM with a server-generated one.
    nina.send({ type: 'room:signal', data: { to: 'v-rob', kind: 'ice', payload: null } });
    const noId = await rob.next((f) => f.cmd === 'WEBRTC_ICE_CANDIDATE');
    assert.match(String(noId.requestId), /^srv_/);
    assert.deepEqual(noId.data, { from: 'v-nina', to: 'v-rob', data: null });

    // Native errors use the canonical codes for the same checks.
    const carol = await srv.connect('v-carol', 'native');
    await carol.request('room:join', { roomId: 'v-mixed' });
    const err = await carol.request('room:signal', { to: 'v-rob', kind: 'answer', payload: {} });
    assert.equal(err.type, 'error');
    assert.equal(err.error.code, 'no_connection');

    // The native member leaving is a MEMBER_LEFT for the ROOM client.
    await nina.request('room:leave', { roomId: 'v-mixed' });
    await memberEvent(rob, 'MEMBER_LEFT', 'v-nina');
    // And a ROOM member joining is room:member_joined for native members.
    const late = await roomClient(srv, 'v-late');
    await join(late, 'v-mixed');
    const nativeJoined = await carol.nextType('room:member_joined');
    assert.deepEqual(nativeJoined.data, {
      type: 'room:member_joined',
      roomId: 'v-mixed',
      userId: 'v-late',
      name: 'V-LATE',
    });
  });
});

describe('real WebRTC inside a room', () => {
  const DESC = { offer: 'WEBRTC_OFFER', answer: 'WEBRTC_ANSWER', ice: 'WEBRTC_ICE_CANDIDATE' };

  /** requestIds a party sent and received, to check they cross the server intact. */
  interface Ids {
    sent: string[];
    received: string[];
  }

  /** The ROOM dialect as a SignalingAdapter: spec frames from `me` to `peer`. */
  function roomSignaling(c: TestClient, me: string, peer: string, ids: Ids): SignalingAdapter {
    const seen = new WeakSet<Frame>();
    return frameAdapter(
      c,
      `${me} (room)`,
      (s) => {
        const requestId = newRequestId();
        ids.sent.push(requestId);
        const data = s.kind === 'ice' ? s.candidate : { type: s.kind, sdp: s.sdp };
        return ok(requestId, DESC[s.kind], { from: me, to: peer, data });
      },
      (f) => {
        if (f.module !== 'ROOM' || !SIGNAL_CMDS.includes(String(f.cmd))) return null;
        if (f.code !== 200) return { kind: 'error', message: `${f.cmd}: ${f.code} ${f.msg}` };
        if (f.data?.from !== peer || f.data?.to !== me) return null;
        if (!seen.has(f)) {
          seen.add(f);
          ids.received.push(String(f.requestId));
        }
        const d = f.data.data;
        if (f.cmd === DESC.offer) return { kind: 'offer', sdp: d.sdp };
        if (f.cmd === DESC.answer) return { kind: 'answer', sdp: d.sdp };
        return { kind: 'ice', candidate: d ?? null };
      },
    );
  }

  /** The native dialect's room:signal as a SignalingAdapter. */
  function nativeRoomSignaling(c: TestClient, me: string, peer: string, ids: Ids) {
    const seen = new WeakSet<Frame>();
    return frameAdapter(
      c,
      `${me} (native)`,
      (s) => {
        const requestId = newRequestId();
        ids.sent.push(requestId);
        const payload = s.kind === 'ice' ? s.candidate : { type: s.kind, sdp: s.sdp };
        return { type: 'room:signal', data: { to: peer, kind: s.kind, payload }, requestId };
      },
      (f) => {
        if (f.type === 'error' && ids.sent.includes(String(f.requestId))) {
          return { kind: 'error', message: `${f.error?.code}: ${f.error?.message}` };
        }
        if (f.type !== 'room:signal' || f.data?.from !== peer) return null;
        if (!seen.has(f)) {
          seen.add(f);
          ids.received.push(String(f.data.requestId));
        }
        const p = f.data.payload;
        if (f.data.kind === 'ice') return { kind: 'ice', candidate: p ?? null };
        return { kind: f.data.kind, sdp: p.sdp };
      },
    );
  }

  for (const callerDialect of ['native', 'room'] as const) {
    const calleeDialect = callerDialect === 'native' ? 'room' : 'native';
    test(`data channel: ${callerDialect} caller <-> ${calleeDialect} callee`, async (t) => {
      const caller = `w-${callerDialect}-caller`;
      const callee = `w-${calleeDialect}-callee`;
      const roomId = `w-${callerDialect}`;
      const grants = { grants: ['voice'] };
      const a = await srv.connect(caller, callerDialect, 'web', grants);
      const b = await srv.connect(callee, calleeDialect, 'web', grants);
      for (const [c, dialect] of [
        [a, callerDialect],
        [b, calleeDialect],
      ] as const) {
        if (dialect === 'room') await join(c, roomId);
        else assert.equal((await c.request('room:join', { roomId })).type, 'ok');
      }
      const aIds: Ids = { sent: [], received: [] };
      const bIds: Ids = { sent: [], received: [] };
      const adapter = (c: TestClient, d: string, me: string, peer: string, ids: Ids) =>
        d === 'room' ? roomSignaling(c, me, peer, ids) : nativeRoomSignaling(c, me, peer, ids);

      const link = await connectPeers(
        adapter(a, callerDialect, caller, callee, aIds),
        adapter(b, calleeDialect, callee, caller, bIds),
      );
      try {
        t.diagnostic(
          `open ${link.openMs.toFixed(0)} ms, round trip ${link.roundTripMs.toFixed(0)} ms`,
        );
        assert.equal(link.calleeReceived, `hello from ${caller} (${callerDialect})`);
        assert.equal(link.callerReceived, `hello from ${callee} (${calleeDialect})`);
        for (const side of [link.signals.caller, link.signals.callee]) {
          assert.equal(side.sent.sdp, 1);
          assert.equal(side.received.sdp, 1);
          assert.ok(side.received.ice >= 2 && side.received.endOfCandidates, JSON.stringify(side));
        }
        // Every requestId crossed the server intact, in order.
        assert.deepEqual(bIds.received, aIds.sent);
        assert.deepEqual(aIds.received, bIds.sent);
      } finally {
        link.close();
      }
      // Nothing was refused (what is left over: native acks and member notifications).
      for (const c of [a, b]) {
        const errors = (await c.quiet(50)).filter(
          (f) => f.type === 'error' || (f.module === 'ROOM' && f.code !== 200),
        );
        assert.deepEqual(errors, []);
      }
      a.close();
      b.close();
    });
  }
});
