import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/observability/index.ts';
import { TestClient, type Frame } from './harness.ts';

/**
 * The server's own log stream, captured line by line: call events are in the chat-protobuf
 * spec's shape (监控和日志) with the user agent and address captured at connect, and every other
 * line has the same `timestamp` and string `level`.
 */

type Line = Record<string, unknown>;

/** Collects what the logger writes and lets a test wait for a line. */
class LogCapture {
  readonly lines: Line[] = [];
  private waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void }> = [];

  write(chunk: string): void {
    for (const text of chunk.split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as Line;
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
    }
  }

  next(match: (l: Line) => boolean, timeoutMs = 3000): Promise<Line> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such log line')), timeoutMs);
      this.waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }
}

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

async function ok(c: TestClient, type: string, data: unknown): Promise<Frame> {
  const r = await c.request(type, data);
  assert.equal(r.type, 'ok', `${type}: ${JSON.stringify(r)}`);
  return r;
}

const event = (name: string, callId: string) => (l: Line) =>
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
