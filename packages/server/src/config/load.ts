import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { sfuAddressDefaults } from './lan-address.ts';
import { ConfigSchema, type Config } from './schema.ts';

/** Environment variable → config path. The only place that reads process.env. */
const ENV_MAP: ReadonlyArray<readonly [string, string]> = [
  ['HOST', 'server.host'],
  ['PORT', 'server.port'],
  ['PARLEY_SHUTDOWN_TIMEOUT_MS', 'server.shutdownTimeoutMs'],
  ['PARLEY_TRUSTED_PROXIES', 'server.trustedProxies'],
  ['PARLEY_JWT_SECRET', 'auth.jwtSecret'],
  ['PARLEY_JWKS_URL', 'auth.jwksUrl'],
  ['PARLEY_JWT_ISSUER', 'auth.issuer'],
  ['PARLEY_JWT_AUDIENCE', 'auth.audience'],
  ['PARLEY_TOKEN_TTL_SEC', 'auth.tokenTtlSec'],
  ['PARLEY_REVOCATION_REFRESH_MS', 'auth.revocationRefreshMs'],
  ['PARLEY_DEV_LOGIN', 'auth.devLogin'],
  ['PARLEY_WEB_DIR', 'web.dir'],
  ['PARLEY_DATA_DIR', 'dataDir'],
  ['DATABASE_URL', 'databaseUrl'],
  ['REDIS_URL', 'redisUrl'],
  ['PARLEY_NODE_ID', 'cluster.nodeId'],
  ['PARLEY_CLUSTER_PREFIX', 'cluster.prefix'],
  ['PARLEY_CLUSTER_HEARTBEAT_MS', 'cluster.heartbeatMs'],
  ['PARLEY_CLUSTER_NODE_TTL_MS', 'cluster.nodeTtlMs'],
  ['PARLEY_CLUSTER_JANITOR_MS', 'cluster.janitorIntervalMs'],
  ['PARLEY_CLUSTER_REQUEST_TIMEOUT_MS', 'cluster.requestTimeoutMs'],
  ['PARLEY_CLUSTER_RATE_SYNC_MS', 'cluster.rateSyncMs'],
  ['PARLEY_CLUSTER_LINKS', 'cluster.links'],
  ['PARLEY_CLUSTER_LINK_HOST', 'cluster.linkHost'],
  ['PARLEY_CLUSTER_LINK_PORT', 'cluster.linkPort'],
  ['PARLEY_CLUSTER_MEETINGS_SPAN', 'cluster.meetingsSpan'],
  ['LOG_LEVEL', 'log.level'],
  ['PARLEY_INVITE_TTL_MS', 'calls.inviteTtlMs'],
  ['PARLEY_DISCONNECT_GRACE_MS', 'calls.disconnectGraceMs'],
  ['PARLEY_BUSY_POLICY', 'calls.busyPolicy'],
  ['PARLEY_ICE_BUFFER_MS', 'calls.iceBufferMs'],
  ['PARLEY_ROOM_PAIR_TIMEOUT_MS', 'rooms.pairTimeoutMs'],
  ['PARLEY_VOICE_GRANT', 'rooms.voiceGrant'],
  ['PARLEY_MAX_FRAME_BYTES', 'limits.maxFrameBytes'],
  ['PARLEY_MAX_CHAT_FRAME_BYTES', 'limits.maxChatFrameBytes'],
  ['PARLEY_CHAT_BYTES_PER_SEC', 'limits.chatBytesPerSec'],
  ['PARLEY_RATE_PER_SEC', 'limits.ratePerSec'],
  ['PARLEY_RATE_BURST', 'limits.rateBurst'],
  ['PARLEY_SIGNAL_RATE_PER_SEC', 'limits.signalRatePerSec'],
  ['PARLEY_SIGNAL_RATE_BURST', 'limits.signalRateBurst'],
  ['PARLEY_MEETING_RATE_PER_SEC', 'limits.meetingRatePerSec'],
  ['PARLEY_MEETING_RATE_BURST', 'limits.meetingRateBurst'],
  ['PARLEY_FLOOD_STRIKES', 'limits.floodStrikes'],
  ['PARLEY_HEARTBEAT_INTERVAL_MS', 'heartbeat.intervalMs'],
  ['PARLEY_HEARTBEAT_TIMEOUT_MS', 'heartbeat.timeoutMs'],
  ['PARLEY_MAX_CONNECTIONS', 'connections.maxConnections'],
  ['PARLEY_MAX_PENDING_UPGRADES', 'connections.maxPendingUpgrades'],
  ['PARLEY_UPGRADE_TIMEOUT_MS', 'connections.upgradeTimeoutMs'],
  ['PARLEY_HTTP_HEADERS_TIMEOUT_MS', 'connections.headersTimeoutMs'],
  ['PARLEY_HTTP_REQUEST_TIMEOUT_MS', 'connections.requestTimeoutMs'],
  ['PARLEY_HTTP_KEEP_ALIVE_TIMEOUT_MS', 'connections.keepAliveTimeoutMs'],
  ['PARLEY_MAX_BUFFERED_BYTES', 'connections.maxBufferedBytes'],
  ['PARLEY_WRITE_TIMEOUT_MS', 'connections.writeTimeoutMs'],
  ['PARLEY_MAX_BODY_BYTES', 'rest.maxBodyBytes'],
  ['PARLEY_REST_RATE_PER_SEC', 'rest.ratePerSec'],
  ['PARLEY_REST_RATE_BURST', 'rest.rateBurst'],
  ['PARLEY_ROOM_ACCESS', 'rooms.access'],
  ['PARLEY_PRESENCE_SCOPE', 'rest.presenceScope'],
  ['PARLEY_METRICS_TOKEN', 'metrics.token'],
  ['PARLEY_METRICS_PORT', 'metrics.port'],
  ['PARLEY_METRICS_HOST', 'metrics.host'],
  ['PARLEY_SFU_WORKERS', 'sfu.workers'],
  ['PARLEY_SFU_LISTEN_IP', 'sfu.listenIp'],
  ['PARLEY_SFU_ANNOUNCED_IP', 'sfu.announcedIp'],
  ['PARLEY_RTC_MIN_PORT', 'sfu.rtcMinPort'],
  ['PARLEY_RTC_MAX_PORT', 'sfu.rtcMaxPort'],
  ['PARLEY_WEBRTC_SERVER_PORT', 'sfu.webRtcServerPort'],
  ['MEDIASOUP_WORKER_BIN', 'sfu.workerBin'],
  ['PARLEY_SFU_EMPTY_ROOM_GRACE_MS', 'sfu.emptyRoomGraceMs'],
  ['PARLEY_SFU_LOG_LEVEL', 'sfu.logLevel'],
  ['PARLEY_SFU_CONSUMERS_PER_WORKER', 'sfu.consumersPerWorker'],
  ['PARLEY_SFU_PIPE_LISTEN_IP', 'sfu.pipeListenIp'],
  ['PARLEY_SFU_PIPE_ANNOUNCED_IP', 'sfu.pipeAnnouncedIp'],
  ['PARLEY_SFU_PIPE_MIN_PORT', 'sfu.pipeMinPort'],
  ['PARLEY_SFU_PIPE_MAX_PORT', 'sfu.pipeMaxPort'],
  ['PARLEY_SFU_PIPE_SRTP', 'sfu.pipeSrtp'],
  ['PARLEY_STUN_URLS', 'ice.stunUrls'],
  ['PARLEY_TURN_URLS', 'ice.turnUrls'],
  ['PARLEY_TURN_SECRET', 'ice.turnSecret'],
  ['PARLEY_TURN_TTL_SEC', 'ice.turnTtlSec'],
  ['PARLEY_STORE_MAX_PENDING_WRITES', 'store.maxPendingWrites'],
  ['PARLEY_STORE_LAST_SEEN_MS', 'store.lastSeenMs'],
  ['PARLEY_CAP_RINGING_CALLS', 'caps.ringingCallsPerUser'],
  ['PARLEY_CAP_LIVE_MEETINGS', 'caps.liveMeetingsPerUser'],
  ['PARLEY_CAP_PEERS_PER_MEETING', 'caps.peersPerUserPerMeeting'],
  ['PARLEY_CAP_PEERS', 'caps.peersPerUser'],
  ['PARLEY_CAP_TRANSPORTS_PER_PEER', 'caps.transportsPerPeer'],
  ['PARLEY_WEBHOOK_URL', 'webhooks.url'],
  ['PARLEY_WEBHOOK_SECRET', 'webhooks.secret'],
  ['PARLEY_WEBHOOK_RETRY_MIN_MS', 'webhooks.retryMinMs'],
  ['PARLEY_WEBHOOK_RETRY_MAX_MS', 'webhooks.retryMaxMs'],
  ['PARLEY_WEBHOOK_GIVE_UP_AFTER_MS', 'webhooks.giveUpAfterMs'],
  ['PARLEY_WEBHOOK_TIMEOUT_MS', 'webhooks.timeoutMs'],
  ['PARLEY_WEBHOOK_POLL_MS', 'webhooks.pollMs'],
  ['PARLEY_WEBHOOK_LEASE_MS', 'webhooks.leaseMs'],
];

/** Variables that hold comma-separated lists. */
const LIST_VARS = new Set(['PARLEY_STUN_URLS', 'PARLEY_TURN_URLS', 'PARLEY_TRUSTED_PROXIES']);

/**
 * The worker cache's name: the mediasoup version (keep in sync with the npm package) and the
 * build's flavour (keep in sync with scripts/mediasoup-worker.sh).
 */
const MEDIASOUP_WORKER_BUILD = 'mediasoup-worker-3.12.16-ossl';

/**
 * The worker binary that scripts/mediasoup-worker.sh builds and caches, if it is there. It is
 * the default of `sfu.workerBin` after MEDIASOUP_WORKER_BIN; without either, mediasoup looks
 * for its own build inside node_modules.
 */
function cachedWorkerBin(env: NodeJS.ProcessEnv): string | undefined {
  const root = resolve(env.PARLEY_CACHE_DIR ?? join(homedir(), '.cache', 'parley'));
  const bin = join(root, MEDIASOUP_WORKER_BUILD, 'mediasoup-worker');
  return existsSync(bin) ? bin : undefined;
}

/** Listen addresses that mean "every interface". */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** Where this node's cluster link listens and is dialled (see `cluster.linkHost`). */
export function linkHostOf(c: Pick<Config, 'server' | 'cluster'>): string {
  return c.cluster.linkHost ?? (WILDCARDS.has(c.server.host) ? '127.0.0.1' : c.server.host);
}

/** Rules that span fields, which the schema cannot express. */
function crossFieldErrors(c: Config): string[] {
  const errors: string[] = [];
  if (c.sfu.rtcMinPort > c.sfu.rtcMaxPort) errors.push('  /sfu/rtcMinPort: above rtcMaxPort');
  if (
    c.sfu.pipeMinPort > c.sfu.pipeMaxPort ||
    (c.sfu.pipeMinPort === 0) !== (c.sfu.pipeMaxPort === 0)
  ) {
    errors.push('  /sfu/pipeMinPort: set both pipe ports (min <= max) or neither');
  }
  if (c.sfu.pipeListenIp && WILDCARDS.has(c.sfu.pipeListenIp) && !c.sfu.pipeAnnouncedIp) {
    errors.push('  /sfu/pipeAnnouncedIp: required when pipeListenIp is a wildcard');
  }
  if (c.cluster.heartbeatMs * 2 > c.cluster.nodeTtlMs) {
    errors.push('  /cluster/nodeTtlMs: must be at least twice heartbeatMs');
  }
  if (c.cluster.linkHost !== undefined && WILDCARDS.has(c.cluster.linkHost)) {
    errors.push('  /cluster/linkHost: must be an address the other nodes can dial, not a wildcard');
  }
  if (c.connections.headersTimeoutMs > c.connections.requestTimeoutMs) {
    errors.push('  /connections/headersTimeoutMs: must not exceed requestTimeoutMs');
  }
  if ((c.webhooks.url === undefined) !== (c.webhooks.secret === undefined)) {
    errors.push(
      '  /webhooks: url and secret (PARLEY_WEBHOOK_URL, PARLEY_WEBHOOK_SECRET) go together',
    );
  }
  const names = c.webhooks.endpoints.map((e) => e.name);
  if (c.webhooks.url !== undefined) names.push('default');
  if (new Set(names).size !== names.length) {
    errors.push("  /webhooks/endpoints: names must be unique (`default` is PARLEY_WEBHOOK_URL's)");
  }
  if (c.webhooks.retryMinMs > c.webhooks.retryMaxMs) {
    errors.push('  /webhooks/retryMinMs: above retryMaxMs');
  }
  if (c.ice.turnUrls.length > 0 && !c.ice.turnSecret) {
    errors.push('  /ice/turnSecret: required when turnUrls are set');
  }
  return errors;
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Tree;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b
        ? deepMerge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Error thrown when configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Builds the configuration from, in increasing precedence: defaults, the JSON file named by
 * PARLEY_CONFIG, the environment, and `overrides` (tests and the CLI). Parsed once, frozen.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Tree = {},
): Readonly<Config> {
  let tree: Tree = {};
  const file = env.PARLEY_CONFIG;
  if (file) {
    try {
      tree = JSON.parse(readFileSync(file, 'utf8')) as Tree;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  const fromEnv: Tree = {};
  for (const [name, path] of ENV_MAP) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const list = () => raw.split(',').flatMap((s) => (s.trim() ? [s.trim()] : []));
    setPath(fromEnv, path, LIST_VARS.has(name) ? list() : raw);
  }
  tree = deepMerge(deepMerge(tree, fromEnv), overrides);
  tree = deepMerge(tree, sfuAddressDefaults(tree));
  const workerBin = cachedWorkerBin(env);
  if (workerBin && !(tree.sfu as Tree | undefined)?.workerBin) {
    tree = deepMerge(tree, { sfu: { workerBin } });
  }
  const value = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, tree));
  const errors = [...Value.Errors(ConfigSchema, value)];
  if (errors.length > 0) {
    const lines = errors.map(
      (e) => `  ${e.path || '/'}: ${e.message} (got ${JSON.stringify(e.value)})`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const crossErrors = crossFieldErrors(value as Config);
  if (crossErrors.length > 0) {
    throw new ConfigError(`invalid configuration:\n${crossErrors.join('\n')}`);
  }
  return deepFreeze(value as Config);
}
