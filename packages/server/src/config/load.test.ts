import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, linkHostOf, ConfigError } from './index.ts';

test('defaults apply on an empty environment', () => {
  const c = loadConfig({});
  assert.equal(c.server.port, 8080);
  assert.equal(c.server.host, '127.0.0.1');
  assert.equal(c.calls.inviteTtlMs, 60_000);
  assert.equal(c.limits.maxFrameBytes, 65_536);
  assert.equal(c.limits.ratePerSec, 10);
  assert.ok(Object.isFrozen(c.calls));
});

test('environment values are converted to their types', () => {
  const c = loadConfig({ PORT: '9000', PARLEY_INVITE_TTL_MS: '1500', PARLEY_BUSY_POLICY: 'ring' });
  assert.equal(c.server.port, 9000);
  assert.equal(c.calls.inviteTtlMs, 1500);
  assert.equal(c.calls.busyPolicy, 'ring');
});

test('invalid values are reported together', () => {
  assert.throws(
    () => loadConfig({ PORT: 'x', PARLEY_BUSY_POLICY: 'maybe' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes('/server/port') &&
      err.message.includes('/calls/busyPolicy'),
  );
});

test('sfu and ice: defaults, lists from the environment, cross-field checks', () => {
  const c = loadConfig({});
  assert.equal(c.sfu.listenIp, '127.0.0.1');
  assert.equal(c.sfu.webRtcServerPort, 0);
  assert.ok(c.sfu.workers >= 1);
  assert.deepEqual(c.ice.stunUrls, [], 'no STUN by default (no Google)');
  const e = loadConfig({
    MEDIASOUP_WORKER_BIN: '/opt/ms/worker',
    PARLEY_SFU_WORKERS: '3',
    PARLEY_STUN_URLS: 'stun:a:3478, stun:b:3478,',
    PARLEY_TURN_URLS: 'turn:t:3478',
    PARLEY_TURN_SECRET: 'long-enough-secret',
  });
  assert.equal(e.sfu.workerBin, '/opt/ms/worker');
  assert.equal(e.sfu.workers, 3);
  assert.deepEqual(e.ice.stunUrls, ['stun:a:3478', 'stun:b:3478']);
  assert.throws(
    () => loadConfig({ PARLEY_TURN_URLS: 'turn:t:3478' }),
    (err: unknown) => err instanceof ConfigError && err.message.includes('/ice/turnSecret'),
  );
  assert.throws(
    () => loadConfig({ PARLEY_RTC_MIN_PORT: '50000', PARLEY_RTC_MAX_PORT: '40000' }),
    (err: unknown) => err instanceof ConfigError && err.message.includes('/sfu/rtcMinPort'),
  );
});

test('cluster links: on by default, dialled at HOST unless it is a wildcard', () => {
  const c = loadConfig({});
  assert.equal(c.cluster.links, true);
  assert.equal(linkHostOf(c), '127.0.0.1');
  assert.equal(linkHostOf(loadConfig({ HOST: '10.0.0.7' })), '10.0.0.7');
  assert.equal(linkHostOf(loadConfig({ HOST: '0.0.0.0' })), '127.0.0.1');
  const e = loadConfig({
    HOST: '0.0.0.0',
    PARLEY_CLUSTER_LINKS: '0',
    PARLEY_CLUSTER_LINK_HOST: '10.0.0.8',
    PARLEY_CLUSTER_LINK_PORT: '7000',
  });
  assert.equal(e.cluster.links, false);
  assert.equal(linkHostOf(e), '10.0.0.8');
  assert.equal(e.cluster.linkPort, 7000);
  assert.throws(
    () => loadConfig({ PARLEY_CLUSTER_LINK_HOST: '0.0.0.0' }),
    (err: unknown) => err instanceof ConfigError && err.message.includes('/cluster/linkHost'),
  );
});

test('per-user caps: defaults a heavy user never reaches, each from its own variable', () => {
  assert.deepEqual(loadConfig({}).caps, {
    ringingCallsPerUser: 4,
    liveMeetingsPerUser: 100,
    peersPerUserPerMeeting: 8,
    peersPerUser: 32,
    transportsPerPeer: 4,
  });
  const c = loadConfig({
    PARLEY_CAP_RINGING_CALLS: '2',
    PARLEY_CAP_LIVE_MEETINGS: '3',
    PARLEY_CAP_PEERS_PER_MEETING: '4',
    PARLEY_CAP_PEERS: '5',
    PARLEY_CAP_TRANSPORTS_PER_PEER: '6',
  });
  assert.deepEqual(Object.values(c.caps), [2, 3, 4, 5, 6]);
  assert.throws(() => loadConfig({ PARLEY_CAP_TRANSPORTS_PER_PEER: '1' }), /transportsPerPeer/);
});

test('connection, REST and exposure limits: defaults, environment, cross-field check', () => {
  const c = loadConfig({});
  assert.equal(c.connections.maxConnections, 10_000);
  assert.equal(c.connections.maxBufferedBytes, 2 * 1024 * 1024);
  assert.equal(c.rest.maxBodyBytes, 16_384);
  assert.equal(c.rest.presenceScope, 'all', 'the demo lobby lists everyone');
  assert.equal(c.rooms.access, 'open', 'ROOM clients join any room, as the spec has it');
  assert.equal(c.metrics.token, undefined);
  const e = loadConfig({
    PARLEY_MAX_CONNECTIONS: '500',
    PARLEY_UPGRADE_TIMEOUT_MS: '2000',
    PARLEY_WRITE_TIMEOUT_MS: '7000',
    PARLEY_MAX_BODY_BYTES: '4096',
    PARLEY_REST_RATE_PER_SEC: '2.5',
    PARLEY_PRESENCE_SCOPE: 'contacts',
    PARLEY_ROOM_ACCESS: 'grant',
    PARLEY_METRICS_PORT: '9100',
  });
  assert.equal(e.connections.maxConnections, 500);
  assert.equal(e.connections.upgradeTimeoutMs, 2000);
  assert.equal(e.connections.writeTimeoutMs, 7000);
  assert.equal(e.rest.maxBodyBytes, 4096);
  assert.equal(e.rest.ratePerSec, 2.5);
  assert.equal(e.rest.presenceScope, 'contacts');
  assert.equal(e.rooms.access, 'grant');
  assert.equal(e.metrics.port, 9100);
  assert.throws(
    () =>
      loadConfig({
        PARLEY_HTTP_HEADERS_TIMEOUT_MS: '5000',
        PARLEY_HTTP_REQUEST_TIMEOUT_MS: '1000',
      }),
    /headersTimeoutMs: must not exceed requestTimeoutMs/,
  );
  assert.throws(() => loadConfig({ PARLEY_METRICS_TOKEN: 'short' }), /metrics\/token/);
});

test('rate budgets per class and the heartbeat: defaults and environment', () => {
  const c = loadConfig({});
  assert.deepEqual(
    [c.limits.signalRatePerSec, c.limits.signalRateBurst],
    [100, 400],
    'an ICE restart fits',
  );
  assert.deepEqual([c.limits.meetingRatePerSec, c.limits.meetingRateBurst], [100, 500]);
  assert.deepEqual([c.heartbeat.intervalMs, c.heartbeat.timeoutMs], [30_000, 10_000]);
  const e = loadConfig({
    PARLEY_SIGNAL_RATE_PER_SEC: '50',
    PARLEY_SIGNAL_RATE_BURST: '200',
    PARLEY_MEETING_RATE_PER_SEC: '20',
    PARLEY_MEETING_RATE_BURST: '300',
  });
  assert.deepEqual([e.limits.signalRatePerSec, e.limits.signalRateBurst], [50, 200]);
  assert.deepEqual([e.limits.meetingRatePerSec, e.limits.meetingRateBurst], [20, 300]);
});

test('webhooks: the single endpoint from the environment, endpoints from the file, checks', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const c = loadConfig({
    PARLEY_WEBHOOK_URL: 'https://hooks.example/parley',
    PARLEY_WEBHOOK_SECRET: secret,
    PARLEY_WEBHOOK_RETRY_MIN_MS: '250',
  });
  assert.equal(c.webhooks.url, 'https://hooks.example/parley');
  assert.equal(c.webhooks.retryMinMs, 250);
  assert.equal(c.webhooks.giveUpAfterMs, 86_400_000, 'retried for a day by default');
  assert.deepEqual(c.webhooks.endpoints, []);
  const invalid = (env: Record<string, string>, overrides: Record<string, unknown>, path: string) =>
    assert.throws(
      () => loadConfig(env, overrides),
      (err: unknown) => err instanceof ConfigError && err.message.includes(path),
      path,
    );
  invalid({ PARLEY_WEBHOOK_URL: 'https://h.example/' }, {}, 'url and secret');
  invalid(
    { PARLEY_WEBHOOK_URL: 'https://h.example/', PARLEY_WEBHOOK_SECRET: 'hunter2' },
    {},
    '/webhooks/secret',
  );
  const endpoint = { name: 'billing', url: 'https://b.example/', secret };
  invalid(
    {},
    { webhooks: { endpoints: [{ ...endpoint, events: ['call.exploded'] }] } },
    '/webhooks/endpoints/0/events/0',
  );
  invalid({}, { webhooks: { endpoints: [endpoint, endpoint] } }, 'names must be unique');
  invalid({}, { webhooks: { retryMinMs: 10, retryMaxMs: 5 } }, '/webhooks/retryMinMs');
  const f = loadConfig({}, { webhooks: { endpoints: [{ ...endpoint, events: ['call.ended'] }] } });
  assert.deepEqual(f.webhooks.endpoints[0]!.events, ['call.ended']);
});
