import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/observability/index.ts';
import { ok, TestClient } from './harness.ts';
import { LogCapture, type LogLine } from './log-capture.ts';

/**
 * The server's own log stream, captured line by line: call events are in the chat-protobuf
 * spec's shape (监控和日志) with the user agent and address captured at connect, and every other
 * line has the same `timestamp` and string `level`.
 */

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let app: App;
let base: string;
let dataDir: string;
const logs = new LogCapture();
const clients: TestClient[] = [];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-logs-'));
  const config = loadConfig(
    { PARLEY_JWT_SECRET: 'test-secret-test-secret-0123456789' },
    // The test's own connections come from loopback: that is the trusted proxy here.
    { server: { port: 0, trustedProxies: ['127.0.0.0/8', '::1'] }, dataDir },
  );
  app = await createApp(config, { log: createLogger('info', logs) });
  base = `ws://127.0.0.1:${(await app.listen()).port}/ws`;
});

after(async () => {
  for (const c of clients) c.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function connect(userId: string, headers: Record<string, string>): Promise<TestClient> {
  const token = await app.auth.mint(userId);
  const c = await TestClient.open(`${base}?token=${token}`, headers);
  clients.push(c);
  return c;
}

const event = (name: string, callId: string) => (l: LogLine) =>
  l.event === name && l.call_id === callId;

test('invite, accept, hangup and end are logged in the spec shape with each device’s agent and address', async () => {
  const alice = await connect('alice', {
    'User-Agent': 'Chrome/120.0.0.0',
    'X-Forwarded-For': '6.6.6.6, 192.168.1.100',
  });
  const bob = await connect('bob', { 'User-Agent': 'Parley-iOS/2.1' });
  const invited = await ok(alice, 'call:invite', { callee: 'bob', media: 'audio' });
  const callId = invited.data.callId as string;
  await bob.next((f) => f.type === 'call:incoming' && f.data.callId === callId);
  await ok(bob, 'call:accept', { callId });
  await ok(alice, 'call:hangup', { callId });

  const invite = await logs.next(event('webrtc_call_invite', callId));
  assert.match(String(invite.timestamp), ISO);
  assert.equal(invite.level, 'INFO');
  assert.equal(invite.caller, 'alice');
  assert.equal(invite.callee, 'bob');
  // The spoofed first hop is not believed: the proxy (loopback) added 192.168.1.100.
  assert.deepEqual(invite.metadata, { user_agent: 'Chrome/120.0.0.0', ip: '192.168.1.100' });

  const accept = await logs.next(event('webrtc_call_accept', callId));
  assert.deepEqual(accept.metadata, { user_agent: 'Parley-iOS/2.1', ip: '127.0.0.1' });
  assert.equal(accept.caller, 'alice');

  const hangup = await logs.next(event('webrtc_call_hangup', callId));
  assert.deepEqual(hangup.metadata, invite.metadata);
  const end = await logs.next(event('webrtc_call_end', callId));
  assert.equal(end.reason, 'hangup');
  assert.equal(end.level, 'INFO');
  const order = logs.lines.filter((l) => l.call_id === callId).map((l) => l.event);
  assert.deepEqual(order, [
    'webrtc_call_invite',
    'webrtc_call_accept',
    'webrtc_call_hangup',
    'webrtc_call_end',
  ]);
});

test('a reject is logged with the rejecting device', async () => {
  const carol = await connect('carol', { 'User-Agent': 'Firefox/121.0' });
  const dave = await connect('dave', { 'User-Agent': 'Parley-Android/3.0' });
  const callId = (await ok(carol, 'call:invite', { callee: 'dave', media: 'video' })).data
    .callId as string;
  await dave.next((f) => f.type === 'call:incoming' && f.data.callId === callId);
  await ok(dave, 'call:reject', { callId });
  const reject = await logs.next(event('webrtc_call_reject', callId));
  assert.deepEqual(reject.metadata, { user_agent: 'Parley-Android/3.0', ip: '127.0.0.1' });
  assert.equal((await logs.next(event('webrtc_call_end', callId))).reason, 'rejected');
});

test('media reports are logged in the spec shape by the reporting device; the end has the outcome', async () => {
  const gina = await connect('gina', { 'User-Agent': 'Chrome/121.0.0.0' });
  const hal = await connect('hal', { 'User-Agent': 'Parley-iOS/2.2' });
  const calls: string[] = [];
  for (const report of [
    { state: 'failed', reason: 'ice_timeout' },
    { state: 'connected', at: Date.now() },
  ]) {
    const callId = (await ok(gina, 'call:invite', { callee: 'hal', media: 'audio' })).data
      .callId as string;
    await hal.next((f) => f.type === 'call:incoming' && f.data.callId === callId);
    await ok(hal, 'call:accept', { callId });
    await ok(hal, 'call:media', { callId, ...report });
    await ok(gina, 'call:hangup', { callId });
    calls.push(callId);
  }
  const [failed, connected] = calls as [string, string];
  const f = await logs.next(event('webrtc_call_media', failed));
  assert.equal(f.level, 'INFO');
  assert.match(String(f.timestamp), ISO);
  assert.deepEqual(
    [f.caller, f.callee, f.state, f.reason],
    ['gina', 'hal', 'failed', 'ice_timeout'],
  );
  assert.deepEqual(f.metadata, { user_agent: 'Parley-iOS/2.2', ip: '127.0.0.1' });
  assert.equal((await logs.next(event('webrtc_call_end', failed))).media_outcome, 'failed');
  const c = await logs.next(event('webrtc_call_media', connected));
  assert.equal(c.state, 'connected');
  assert.match(String(c.connected_at), ISO);
  assert.equal((await logs.next(event('webrtc_call_end', connected))).media_outcome, 'connected');
});

test('every other line keeps pino’s fields with the same timestamp and string level', async () => {
  await connect('erin', {});
  const connected = await logs.next((l) => l.event === 'connected' && l.userId === 'erin');
  assert.match(String(connected.timestamp), ISO);
  assert.equal(connected.level, 'INFO');
  assert.equal(connected.time, undefined);
  assert.equal(connected.msg, 'device connected');
  for (const l of logs.lines) {
    assert.match(String(l.timestamp), ISO, JSON.stringify(l));
    assert.ok(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].includes(String(l.level)));
  }
});
