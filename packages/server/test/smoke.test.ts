import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.ts';

test('native smoke: invite, accept, offer, hangup, record', async () => {
  const srv = await startServer();
  try {
    const alice = await srv.connect('alice');
    const bob = await srv.connect('bob');
    const inv = await alice.request('call:invite', { callee: 'bob', media: 'video' });
    assert.equal(inv.type, 'ok');
    const callId = inv.data.callId as string;
    const incoming = await bob.nextType('call:incoming');
    assert.equal(incoming.data.callId, callId);
    assert.equal((await bob.request('call:accept', { callId })).type, 'ok');
    await alice.nextType('call:accepted');
    alice.send({ type: 'call:offer', data: { callId, sdp: 'v=0' } });
    assert.equal((await bob.nextType('call:offer')).data.sdp, 'v=0');
    alice.send({ type: 'call:hangup', data: { callId } });
    assert.equal((await bob.nextType('call:ended')).data.reason, 'hangup');
    const rec = await alice.nextType('call:record');
    assert.equal(rec.data.record.status, 'completed');
  } finally {
    await srv.close();
  }
});
