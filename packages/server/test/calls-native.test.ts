import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  callScenarios,
  callServer,
  type CallDriver,
  type Known,
  type RecordView,
} from './call-scenarios.ts';
import { callStarter, recordCheck, quiet, type Frame, type TestClient } from './harness.ts';

/**
 * 1:1 calls over the native dialect (`/ws`), end to end over real sockets: the scenarios every
 * dialect passes (call-scenarios.ts) through the native driver, and what only this dialect has.
 */

const of =
  (type: string, callId: string) =>
  (f: Frame): boolean =>
    f.type === type && (f.data?.callId ?? f.data?.record?.callId) === callId;

async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'ok', `${type}: ${JSON.stringify(r)}`);
  return r;
}

/** Sends a request that must be refused with `code`; the requestId must be echoed. */
async function refused(c: TestClient, type: string, data: unknown, code: string): Promise<void> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'error', `${type} should be refused: ${JSON.stringify(r)}`);
  assert.equal(r.error.code, code, `${type}: ${JSON.stringify(r)}`);
}

/** Invites `callee` and returns the call id from the ack. */
async function invite(
  caller: TestClient,
  callee: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await ok(caller, 'call:invite', { callee, media: 'video', ...extra });
  assert.equal(typeof r.data.callId, 'string');
  return r.data.callId as string;
}

/** The caller hears that its call rings on `devices` devices. */
async function ringing(caller: TestClient, callId: string, devices: number): Promise<void> {
  const f = await caller.next(of('call:ringing', callId));
  assert.equal(f.data.devices, devices);
}

/** A callee device's call:incoming, with who calls and how. */
async function incoming(c: TestClient, p: Known): Promise<string> {
  const inc = await c.next(of('call:incoming', p.callId));
  assert.equal(inc.data.caller, p.caller);
  assert.equal(inc.data.callee, p.callee);
  assert.equal(inc.data.media, p.media);
  assert.equal(inc.data.callerName, p.caller.toUpperCase());
  assert.equal(inc.data.callerDevice.clientType, 'web');
  return p.callId;
}

async function ended(c: TestClient, callId: string, reason: string, by: string | null) {
  const f = await c.next(of('call:ended', callId));
  assert.equal(f.data.reason, reason, JSON.stringify(f));
  assert.equal(f.data.by, by);
  return f;
}

/** Starts a call (see callStarter); every callee device rings, and the caller hears so. */
const ring = callStarter('native', async (from, to, { caller, callee, media }) => {
  const callId = await invite(from, callee, { media });
  await ringing(from, callId, to.length);
  for (const b of to) await incoming(b, { caller, callee, media, callId });
  return callId;
});

/**
 * The end of a call: every client in `told` gets its `call:record` (whose answeredBy is the
 * device that answered), and the row agrees.
 */
const expectRecorded = recordCheck(async (told, { callId }, status, reason) => {
  const records = await Promise.all(told.map((c) => c.next(of('call:record', callId))));
  for (const r of records) {
    assert.equal(r.data.record.callId, callId);
    assert.equal(r.data.record.status, status);
    assert.equal(r.data.record.reason, reason);
    assert.equal(typeof r.data.record.ringMs, 'number');
  }
  return records.map((r) => r.data.record as Frame);
});

const native: CallDriver = {
  title: 'native calls',
  dialect: 'native',
  prefix: '',
  ring,
  async invite(caller, p, keepCalling) {
    return invite(caller, p.callee, { media: p.media, ...(keepCalling ? { keepCalling } : {}) });
  },
  ringing: (caller, callId, devices) => ringing(caller, callId!, devices),
  incoming: (c, p) => incoming(c, p as Known),
  accept: async (c, p) => void (await ok(c, 'call:accept', { callId: p.callId })),
  reject: async (c, p) => void (await ok(c, 'call:reject', { callId: p.callId })),
  hangup: async (c, p) => void (await ok(c, 'call:hangup', { callId: p.callId })),
  noAnswer: async (c, p) =>
    void (await ok(c, 'call:hangup', { callId: p.callId, reason: 'no_answer' })),
  async inviteBack(c, p) {
    const r = await ok(c, 'call:invite', { callee: p.caller, media: 'video' });
    assert.deepEqual(r.data, { callId: p.callId, glare: true });
  },
  async refused(c, action, p, code) {
    const data =
      action === 'answer' ? { callId: p.callId, sdp: 'too early' } : { callId: p.callId };
    await refused(c, `call:${action}`, data, code);
  },
  async accepted(c, p) {
    const by = (await c.next(of('call:accepted', p.callId))).data.by as Frame;
    assert.equal(by.userId, p.callee);
    assert.deepEqual(Object.keys(by).sort(), ['clientType', 'deviceId', 'userId']);
    return { clientType: by.clientType, deviceId: by.deviceId };
  },
  async elsewhere(c, p, by) {
    const f = await c.next(of('call:answered_elsewhere', p.callId));
    if (by) assert.deepEqual(f.data.by, { userId: p.callee, ...by });
    return {
      accepted: f.data.accepted,
      fromClientType: f.data.fromClientType,
      timetag: f.data.timetag,
    };
  },
  async ended(c, p, reason, by) {
    await ended(c, p.callId!, reason, by);
    return p.callId!;
  },
  offer: (c, p, sdp) => c.send({ type: 'call:offer', data: { callId: p.callId, sdp } }),
  answer: (c, p, sdp) => c.send({ type: 'call:answer', data: { callId: p.callId, sdp } }),
  ice: (c, p, candidate) => c.send({ type: 'call:ice', data: { callId: p.callId, candidate } }),
  async signal(c, kind, from, p, next) {
    const f = await (next ? c.next() : c.next(of(`call:${kind}`, p.callId)));
    assert.equal(f.type, `call:${kind}`);
    assert.equal(f.data.callId, p.callId);
    if (kind !== 'ice') assert.equal(f.data.from, from);
    return f.data as Frame;
  },
  async recorded(call, told, status, reason, answered) {
    const records = await expectRecorded(call, told, status, reason, answered);
    for (const r of records) {
      if (answered === null) assert.equal(r.answeredBy, null);
      else assert.deepEqual(r.answeredBy, { deviceId: r.answeredBy.deviceId, ...answered });
    }
    return records as RecordView[];
  },
  async relayExtras(a1, b1, { callId }) {
    // The SDP arrives exactly as sent whatever the sender escaped (the relay copies its JSON
    // literal), and it is the value the server read, not another member of the same name.
    const tricky = 'v=0\r\na="q" \\ μ 🎥\r\n';
    a1.send({ type: 'call:offer', data: { callId, sdp: tricky } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, tricky);
    a1.send(`{"type":"call:offer","data":{"callId":"${callId}","sdp":"x\\/y"}}`);
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'x/y');
    a1.send(`{"type":"call:offer","data":{"sdp":"decoy","callId":"${callId}","sdp":"real"}}`);
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'real');
  },
};

callScenarios(native);

describe('native calls: what only the native dialect checks', () => {
  const s = callServer({}, { rateBurst: 1000 });

  test('a non-party is refused and nothing is forwarded', async () => {
    const { call, callId, devices } = await ring(s.srv, 'np-alice', 'np-bob');
    const [alice, b1, b2] = devices;
    const eve = await s.srv.connect('np-eve');

    // While ringing.
    await refused(eve, 'call:accept', { callId }, 'not_in_call');
    await refused(eve, 'call:reject', { callId }, 'not_in_call');
    await refused(eve, 'call:hangup', { callId }, 'not_in_call');
    await refused(eve, 'call:offer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:ice', { callId, candidate: { candidate: 'evil' } }, 'not_in_call');
    await refused(eve, 'call:accept', { callId: `${callId}x` }, 'not_found');
    // Before the answer a callee device may not signal; the caller's offer is held for the
    // device that answers, and goes nowhere else.
    await refused(b2, 'call:ice', { callId, candidate: null }, 'invalid_state');
    await ok(alice, 'call:offer', { callId, sdp: 'v=0 early' });
    await quiet(alice, b1, b2, eve);

    await ok(b1, 'call:accept', { callId });
    await alice.next(of('call:accepted', callId));
    await b2.next(of('call:answered_elsewhere', callId));
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'v=0 early');

    // After the answer: strangers and the callee's other device.
    await refused(eve, 'call:offer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:answer', { callId, sdp: 'v=0 evil' }, 'not_in_call');
    await refused(eve, 'call:ice', { callId, candidate: null }, 'not_in_call');
    await refused(eve, 'call:hangup', { callId }, 'not_in_call');
    await refused(eve, 'call:accept', { callId }, 'not_in_call');
    await refused(b2, 'call:offer', { callId, sdp: 'v=0 other' }, 'not_in_call');
    await refused(b2, 'call:hangup', { callId }, 'not_in_call');
    await quiet(alice, b1, b2, eve);

    // The call itself is unharmed.
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0 real' } });
    assert.equal((await b1.next(of('call:offer', callId))).data.sdp, 'v=0 real');
    await ok(alice, 'call:hangup', { callId });
    await ended(b1, callId, 'hangup', 'np-alice');
    await expectRecorded(call, [alice, b1, b2], 'completed', 'hangup', { clientType: 'web' });
    await quiet(alice, b1, b2, eve); // eve never even sees the record
  });
});
