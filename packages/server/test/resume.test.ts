import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { of, startServer, TestClient, type Frame, type TestServer } from './harness.ts';

/**
 * Resumable sessions on the native endpoint (`?resumable=1`, `?resume=<token>`): a device that
 * drops and comes back within the grace keeps its deviceId, its live call and whatever was sent
 * to it meanwhile; one that does not is gone as before.
 */

const GRACE = 800;

describe('resumable sessions', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ calls: { disconnectGraceMs: GRACE }, limits: { rateBurst: 1000 } });
  });
  after(() => srv.close());

  /** Opens a resumable native connection; returns it with its session:ready data. */
  async function open(userId: string, query = 'resumable=1') {
    const token = await srv.token(userId, { name: userId.toUpperCase() });
    const c = await TestClient.open(`${srv.wsBase}/ws?token=${token}&clientType=web&${query}`);
    const ready = await c.nextType('session:ready');
    return { c, ready: ready.data as Frame };
  }

  /** alice calls bob, bob accepts; returns the call id. */
  async function connectedCall(alice: TestClient, bob: TestClient, callee: string) {
    const inv = await alice.request('call:invite', { callee, media: 'video' });
    const callId = inv.data.callId as string;
    await bob.next(of('call:incoming', callId));
    assert.equal((await bob.request('call:accept', { callId })).type, 'ok');
    await alice.next(of('call:accepted', callId));
    return callId;
  }

  test('session:ready comes first; plain connections get none', async () => {
    const { c, ready } = await open('r-first');
    assert.equal(typeof ready.deviceId, 'string');
    assert.equal(typeof ready.resumeToken, 'string');
    assert.ok((ready.resumeToken as string).length >= 32);
    assert.equal(ready.resumed, false);
    assert.equal(ready.graceMs, GRACE);
    const plain = await srv.connect('r-plain');
    assert.deepEqual(await plain.quiet(), []);
    c.close();
  });

  test('a drop and a resume within the grace keep the call and deliver what was sent meanwhile', async () => {
    const alice = await srv.connect('r-alice');
    const bob = await open('r-bob');
    const callId = await connectedCall(alice, bob.c, 'r-bob');

    bob.c.ws.terminate();
    await bob.c.waitClose();
    // While bob is away: an offer for him, and an ICE candidate.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await alice.request('call:offer', { callId, sdp: 'v=0 offer' })).type, 'ok');
    alice.send({ type: 'call:ice', data: { callId, candidate: null } });
    await new Promise((r) => setTimeout(r, 100));

    const again = await open('r-bob', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(again.ready.resumed, true);
    assert.equal(again.ready.deviceId, bob.ready.deviceId);
    assert.notEqual(again.ready.resumeToken, bob.ready.resumeToken, 'the token rotates');
    const offer = await again.c.next(of('call:offer', callId));
    assert.equal(offer.data.sdp, 'v=0 offer');
    await again.c.next(of('call:ice', callId));

    // Past the grace the call is still live: bob's resumed device is its answering device.
    await new Promise((r) => setTimeout(r, GRACE + 200));
    assert.equal((await again.c.request('call:answer', { callId, sdp: 'v=0 answer' })).type, 'ok');
    assert.equal((await alice.next(of('call:answer', callId))).data.sdp, 'v=0 answer');
    assert.equal((await again.c.request('call:hangup', { callId })).type, 'ok');
    assert.equal((await alice.next(of('call:ended', callId))).data.reason, 'hangup');
    await again.c.next(of('call:record', callId));
    again.c.close();
  });

  test('a reply to a request in flight when the socket dropped is delivered after the resume', async () => {
    const bob = await open('r-inflight-bob');
    await srv.connect('r-inflight-alice');
    const frame = { type: 'call:invite', data: { callee: 'r-inflight-alice', media: 'audio' } };
    // The request is written, then the socket dies at once: its reply may well be written into
    // the dead socket. Bob has received nothing since session:ready.
    await new Promise<void>((resolve) =>
      bob.c.ws.send(JSON.stringify({ ...frame, requestId: 'in-flight' }), () => resolve()),
    );
    bob.c.ws.terminate();
    await new Promise((r) => setTimeout(r, 100));
    const token = bob.ready.resumeToken as string;
    const again = await open('r-inflight-bob', `resume=${token}&received=0`);
    assert.equal(again.ready.resumed, true);
    const reply = await again.c.next((f) => f.requestId === 'in-flight');
    assert.equal(reply.type, 'ok');
    const ringing = await again.c.nextType('call:ringing');
    assert.equal(ringing.data.callId, reply.data.callId);
    assert.equal((await again.c.request('call:hangup', reply.data)).type, 'ok');
    again.c.close();
  });

  test('`received` names what the client got: the rest is replayed once, a gap cannot resume', async () => {
    const alice = await srv.connect('r-count-alice');
    const bob = await open('r-count-bob');
    const callId = await connectedCall(alice, bob.c, 'r-count-bob'); // bob got 2 frames
    for (const sdp of ['v=0 a', 'v=0 b']) await alice.request('call:offer', { callId, sdp });
    await bob.c.next(of('call:offer', callId));
    await bob.c.next(of('call:offer', callId));
    bob.c.ws.terminate();
    // Bob says he saw only the first offer (3 frames): the second is replayed, nothing else.
    const again = await open('r-count-bob', `resume=${bob.ready.resumeToken as string}&received=3`);
    assert.equal(again.ready.resumed, true);
    assert.equal((await again.c.next(of('call:offer', callId))).data.sdp, 'v=0 b');
    assert.deepEqual(await again.c.quiet(), []);
    again.c.ws.terminate();
    // A count ahead of what was sent is a gap too: a new device, and the call ends.
    const bad = await open(
      'r-count-bob',
      `resume=${again.ready.resumeToken as string}&received=99`,
    );
    assert.equal(bad.ready.resumed, false);
    assert.equal((await alice.next(of('call:ended', callId))).data.reason, 'disconnected');
    bad.c.close();
  });

  test('no resume within the grace: the call ends disconnected; the token then makes a new device', async () => {
    const alice = await srv.connect('r-late-alice');
    const bob = await open('r-late-bob');
    const callId = await connectedCall(alice, bob.c, 'r-late-bob');
    const t0 = Date.now();
    bob.c.ws.terminate();
    const end = await alice.next(of('call:ended', callId), GRACE + 3000);
    assert.equal(end.data.reason, 'disconnected');
    assert.ok(Date.now() - t0 >= GRACE - 50, 'not before the grace');
    assert.ok(Date.now() - t0 < 2 * GRACE + 500, 'the grace is not waited twice');

    const late = await open('r-late-bob', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(late.ready.resumed, false);
    assert.notEqual(late.ready.deviceId, bob.ready.deviceId);
    late.c.close();
  });

  test('resuming while the old socket is still open takes the device over', async () => {
    const alice = await srv.connect('r-take-alice');
    const bob = await open('r-take-bob');
    const callId = await connectedCall(alice, bob.c, 'r-take-bob');
    const again = await open('r-take-bob', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(again.ready.resumed, true);
    assert.equal((await bob.c.waitClose()).code, 4000);
    assert.equal((await alice.request('call:offer', { callId, sdp: 'v=0 x' })).type, 'ok');
    await again.c.next(of('call:offer', callId));
    await new Promise((r) => setTimeout(r, GRACE + 200));
    assert.equal((await again.c.request('call:hangup', { callId })).type, 'ok');
    again.c.close();
  });

  test('a client that closes on purpose (1000, 1001) is gone at once: no grace, no resume', async () => {
    for (const code of [1000, 1001]) {
      const alice = await srv.connect(`r-bye-alice-${code}`);
      const bob = await open(`r-bye-bob-${code}`);
      const callId = await connectedCall(alice, bob.c, `r-bye-bob-${code}`);
      const t0 = Date.now();
      bob.c.ws.close(code);
      const end = await alice.next(of('call:ended', callId));
      assert.equal(end.data.reason, 'disconnected');
      assert.ok(Date.now() - t0 < GRACE, 'without waiting for a resume');
      const again = await open(`r-bye-bob-${code}`, `resume=${bob.ready.resumeToken as string}`);
      assert.equal(again.ready.resumed, false);
      again.c.close();
    }
  });

  test("a token is single use and only resumes its own user's device", async () => {
    const bob = await open('r-own-bob');
    bob.c.ws.terminate();
    const eve = await open('r-own-eve', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(eve.ready.resumed, false);
    assert.notEqual(eve.ready.deviceId, bob.ready.deviceId);
    const first = await open('r-own-bob', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(first.ready.resumed, true);
    first.c.ws.terminate();
    const reused = await open('r-own-bob', `resume=${bob.ready.resumeToken as string}`);
    assert.equal(reused.ready.resumed, false, 'the first token was used up');
    eve.c.close();
    reused.c.close();
  });

  test('a parked device stays online: a call to it rings after the resume', async () => {
    const alice = await srv.connect('r-park-alice');
    const bob = await open('r-park-bob');
    // Native connections on every node (in a cluster bob may be on any of them).
    const nativeConnections = async () => {
      let n = 0;
      for (const app of srv.apps) {
        const { values } = await app.metrics.connections.get();
        n += values.find((v) => v.labels.dialect === 'native')?.value ?? 0;
      }
      return n;
    };
    const before = await nativeConnections();
    bob.c.ws.terminate();
    await bob.c.waitClose();
    // Parked once the server has seen the socket go (a fixed pause lost that race at load 10).
    const deadline = Date.now() + 20_000;
    while ((await nativeConnections()) >= before) {
      assert.ok(Date.now() < deadline, 'the server never saw the socket close');
      await new Promise((r) => setTimeout(r, 10));
    }
    const inv = await alice.request('call:invite', { callee: 'r-park-bob', media: 'audio' });
    assert.equal(inv.type, 'ok');
    const callId = inv.data.callId as string;
    assert.equal((await alice.next(of('call:ringing', callId))).data.devices, 1);
    const again = await open('r-park-bob', `resume=${bob.ready.resumeToken as string}`);
    await again.c.next(of('call:incoming', callId));
    assert.equal((await again.c.request('call:reject', { callId })).type, 'ok');
    assert.equal((await alice.next(of('call:ended', callId))).data.reason, 'rejected');
    again.c.close();
  });
});
