import type { Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Hono, type Env } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { AppError } from '@parley/protocol';
import { AdminLocal, AdminService, Revoker } from './admin/index.ts';
import {
  createAuthenticator,
  refusingRevoked,
  RevocationList,
  type Authenticator,
} from './auth/index.ts';
import { CallEngine } from './calls/index.ts';
import { ClusterNode, localPlacement, MemoryBus, MemoryUserPeers } from './cluster/index.ts';
import { frameClock, type Sender } from './core/index.ts';
import type { Config } from './config/index.ts';
import {
  Dispatcher,
  Gateway,
  Hub,
  nativeDialect,
  roomDialect,
  videoCallDialect,
  chatProtobufDialect,
  meetingDialect,
  SocketIoGateway,
  SOCKET_IO_PATH,
  type Dialect,
} from './gateway/index.ts';
import {
  ADMIN_OPS,
  adminRoutes,
  ApiDocument,
  bodyCap,
  CALL_OPS,
  callRoutes,
  createHttpServer,
  DEV_OPS,
  devLoginEnabled,
  devRoutes,
  fail,
  HEALTH_OPS,
  healthRoutes,
  ipRateLimit,
  KeyedRateLimiter,
  MEDIA_OPS,
  mediaRoutes,
  MEETING_OPS,
  meetingRoutes,
  METRICS_OPS,
  ADMIN_WEBHOOK_OPS,
  adminWebhookRoutes,
  metricsRoutes,
  metricsServer,
  OPENAPI_OPS,
  openApiRoutes,
  type Operations,
  PRESENCE_OPS,
  presenceRoutes,
  rateLimitedAuth,
  webRoutes,
} from './http/index.ts';
import { MeetingService, RtcService } from './meetings/index.ts';
import { createLogger, Metrics, type Logger } from './observability/index.ts';
import { MemoryDirectory } from './presence/index.ts';
import { SignalRelay } from './relay/index.ts';
import { ClusterRouting } from './cluster-routing.ts';
import { routedDispatcher } from './routed-dispatcher.ts';
import { RoomManager } from './rooms/index.ts';
import { SfuPool } from './sfu/index.ts';
import {
  asAppError,
  CallRecordStore,
  endLeftovers,
  LastSeen,
  MeetingStore,
  migrate,
  RevocationStore,
  openDatabase,
  OutboxStore,
  OutboxWriter,
  WriteJournal,
  WriteQueue,
  type Db,
} from './store/index.ts';
import { announcingDirectory, endpointsOf, Webhooks } from './webhooks/index.ts';

/** The server's version, as the OpenAPI document states it. */
const VERSION = '0.1.0';

/** A running (or ready to run) Parley node. */
export interface App {
  readonly nodeId: string;
  readonly config: Readonly<Config>;
  readonly auth: Authenticator;
  /** Token revocations (the admin API's), in force on every node. */
  readonly revoker: Revoker;
  /** The OpenAPI 3.1 document of the REST API, as served at `/api/openapi.json`. */
  readonly openApi: ApiDocument;
  /** The routes the HTTP server serves (Hono's list: method and path). */
  readonly routes: ReadonlyArray<{ method: string; path: string }>;
  readonly engine: CallEngine;
  readonly records: CallRecordStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly db: Db;
  /** The mediasoup workers (started on the first meeting, or with `sfu.start()`). */
  readonly sfu: SfuPool;
  readonly meetings: MeetingService;
  readonly rtc: RtcService;
  readonly server: Server;
  /** The listener of `/metrics` when it has its own port (`metrics.port`), else null. */
  readonly metricsServer: Server | null;
  /** The webhook deliverers and dead letters. */
  readonly webhooks: Webhooks;
  /** This node's membership of the Redis cluster (null on a single node). */
  readonly cluster: ClusterNode | null;
  /**
   * Listens on the configured host and port (and `/metrics` on its own port, when configured);
   * resolves with the API's bound address.
   */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop: refuse new connections, end live calls with `shutdown` and write their
   * records, close sockets and the database. Idempotent.
   */
  close(): Promise<void>;
}

/** Options the composition root takes besides configuration (tests inject a logger). */
export interface AppOptions {
  log?: Logger;
}

/** Listens on `port` at `host`; resolves with the bound address. */
function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The composition root: builds every part from configuration and wires them together. */
export async function createApp(config: Readonly<Config>, opts: AppOptions = {}): Promise<App> {
  const nodeId = config.cluster.nodeId ?? randomBytes(4).toString('hex');
  const log = (opts.log ?? createLogger(config.log.level)).child({ node: nodeId });
  const metrics = new Metrics();
  // Every token, on every endpoint, is checked against the revocations this node knows.
  const revocations = new RevocationList();
  const auth = refusingRevoked(createAuthenticator(config), revocations);
  const db = openDatabase(config, nodeId);
  await migrate(db);
  db.onFileProblem((problem) =>
    problem
      ? log.error({ event: 'store_file_problem', problem }, 'the SQLite database is not right')
      : log.info({ event: 'store_file_ok' }, 'the database file is right again'),
  );
  const journal = new WriteJournal(join(config.dataDir, 'pending-writes.jsonl'), db.kind, (err) =>
    err
      ? log.error({ event: 'journal_failed', err }, 'pending writes kept in memory only')
      : log.info({ event: 'journal_ok' }, 'pending writes journaled again'),
  );
  // One queue for every record write nobody may lose (calls' and meeting stays' ends).
  const writes = new WriteQueue(db, {
    maxPending: config.store.maxPendingWrites,
    journal,
    events: {
      retrying: (err, pending, first) => {
        metrics.storeWriteFailures.inc();
        if (first)
          log.warn({ event: 'store_down', err, pending }, 'store refuses writes; retrying them');
      },
      recovered: (downMs) =>
        log.info({ event: 'store_recovered', downMs }, 'store takes writes again'),
      dropped: (err, why) => {
        metrics.storeWritesDropped.labels(why).inc();
        log.error({ event: 'store_write_dropped', err, why }, 'record write given up');
      },
    },
  });
  // Webhook events go into the outbox in the transaction of the change each announces.
  const hookEndpoints = endpointsOf(config.webhooks);
  const outbox =
    hookEndpoints.length > 0
      ? new OutboxWriter(
          db.kysely,
          db.kind,
          hookEndpoints.map(({ name, events }) => ({ name, events })),
        )
      : undefined;
  const records = new CallRecordStore(db, writes, outbox);
  const replayed = await records.recover();
  if (replayed > 0)
    log.warn({ event: 'journal_replayed', writes: replayed }, 'wrote what the last run could not');
  /** Whether the store takes writes and its files are in place, and if not, why. */
  const storeHealth = () => {
    const w = records.writeStatus();
    const reason = db.fileProblem() ?? w.reason;
    return { up: reason === null, pending: w.pending, reason };
  };
  metrics.storeHealth = storeHealth;
  // Cluster mode with REDIS_URL: presence, bus and rate budget in Redis; else all in process.
  const cluster = config.redisUrl
    ? await ClusterNode.join({ nodeId, redisUrl: config.redisUrl, config, log })
    : null;
  const directory = cluster?.directory ?? new MemoryDirectory();
  const bus = cluster?.bus ?? new MemoryBus();
  const hub = new Hub(nodeId, directory, bus);
  const placement = cluster?.placement ?? localPlacement(nodeId);
  // The domains' routers across the nodes, on the cluster's ports.
  const routing = cluster ? new ClusterRouting(cluster, hub, log) : null;
  const webhooks = new Webhooks({
    endpoints: hookEndpoints,
    outbox: new OutboxStore(db.kysely),
    placement,
    settings: config.webhooks,
    metrics,
    log,
  });
  outbox?.onCommitted(() => webhooks.nudge());
  metrics.webhookDepth = () => webhooks.depth();
  webhooks.start();
  const relay = new SignalRelay({
    iceBufferMs: config.calls.iceBufferMs,
    ringTtlMs: config.calls.inviteTtlMs,
    metrics,
    log,
    clock: frameClock,
  });
  const engine = new CallEngine({
    nodeId,
    calls: config.calls,
    caps: config.caps,
    records,
    directory,
    delivery: hub,
    metrics,
    relay,
    log,
    ...(routing ? { watcher: routing.announcer() } : {}),
  });

  const sfu = new SfuPool({ sfu: config.sfu, log, metrics });
  const meetingStore = new MeetingStore(db.kysely, writes, outbox);
  // A single node owns every row: what a run killed without warning left open is its own, ended
  // at that run's last sign of life, which this run records every few seconds.
  let lastSeenTimer: NodeJS.Timeout | null = null;
  if (!cluster) {
    const lastSeen = new LastSeen(db.kysely);
    const left = await endLeftovers({ nodeId, records, meetings: meetingStore, lastSeen });
    if (left.calls.length + left.stays > 0)
      log.warn(
        { event: 'node_restart', calls: left.calls.length, stays: left.stays },
        'ended the calls and meeting stays a previous run left open',
      );
    const touch = () =>
      void lastSeen
        .touch(nodeId, Date.now())
        .catch((err: unknown) => log.debug({ event: 'last_seen_failed', err }, 'not recorded'));
    touch();
    lastSeenTimer = setInterval(touch, config.store.lastSeenMs);
    lastSeenTimer.unref();
  }
  const rtc = new RtcService({
    store: meetingStore,
    sfu,
    delivery: hub,
    emptyRoomGraceMs: config.sfu.emptyRoomGraceMs,
    consumersPerWorker: config.sfu.consumersPerWorker,
    caps: config.caps,
    userPeers: cluster?.userPeers ?? new MemoryUserPeers(),
    metrics,
    log,
    onRoomClosed: (id: string) => placement.meetingClosed(id),
    ...(cluster?.span ? { span: cluster.span } : {}),
  });
  const meetings = new MeetingService({
    store: meetingStore,
    rtc: routing?.meetingRooms(rtc) ?? rtc,
    ice: config.ice,
    caps: config.caps,
    log,
  });

  const rooms = new RoomManager({
    rooms: config.rooms,
    delivery: hub,
    directory,
    log,
    ...(cluster ? { mirror: cluster.mirror } : {}),
  });

  const local = new Dispatcher()
    .on('call:invite', (s, c) => engine.invite(s, c))
    .on('call:accept', (s, c) => engine.accept(s, c.call, c.origin))
    .on('call:reject', (s, c) => engine.reject(s, c.call, c.origin))
    .on('call:hangup', (s, c) => engine.hangup(s, c))
    .on('call:offer', (s, c) => engine.relay(s, c))
    .on('call:answer', (s, c) => engine.relay(s, c))
    .on('call:ice', (s, c) => engine.relay(s, c))
    .on('call:handled', (s, c) => engine.handled(s, c))
    .on('call:media', (s, c) => engine.media(s, c))
    .on('room:join', (s, c) => rooms.join(s, c.roomId))
    .on('room:leave', (s, c) => rooms.leave(s, c.roomId))
    .on('room:members', (s, c) => rooms.members(s, c.roomId))
    .on('room:signal', (s, c) => rooms.signal(s, c))
    .on('chat:send', (s, c) => rooms.chat(s, c.message))
    .on('chat:signal', (s, c) => rooms.forward(s, c));
  rtc.register(local);
  const here = {
    online: (d: Sender) => engine.deviceOnline(d),
    offline: (d: Sender, graceElapsed: boolean) => {
      engine.deviceOffline(d, graceElapsed ? 0 : undefined);
      rooms.deviceGone(d);
      rtc.deviceGone(d);
    },
  };
  // In a cluster, commands run where their call, meetings or rooms live; devices' comings and
  // goings reach the nodes that care.
  const adminLocal = new AdminLocal({ nodeId, engine, hub, rtc });
  const revoker = new Revoker({
    nodeId,
    bus,
    records: new RevocationStore(db.kysely),
    list: revocations,
    hub,
    refreshMs: config.auth.revocationRefreshMs,
    log,
  });
  await revoker.start();
  // Users coming online and going offline, announced (when an endpoint wants it), whether
  // they disconnect or their node dies (the janitor takes its devices through it).
  const announced =
    outbox && (outbox.wants('user.online') || outbox.wants('user.offline'))
      ? announcingDirectory(directory, (e) => {
          const qs = outbox.statements(e);
          if (qs.length === 0) return;
          writes.writeGroup(qs).then(
            () => outbox.committed(),
            (err: unknown) =>
              log.error({ event: 'webhook_write_failed', err }, 'presence event not written'),
          );
        })
      : directory;
  const served = routing?.serve({
    engine,
    local,
    here,
    rtc,
    rooms,
    relay,
    admin: (op) => adminLocal.run(op),
  }) ?? {
    owners: null,
    onDeviceOnline: here.online,
    onDeviceOffline: here.offline,
    onMeetingDeviceOffline: (d: Sender) => rtc.deviceGone(d),
  };
  cluster?.startJanitor({ records, db, delivery: hub, directory: announced });
  const dispatcher = served.owners ? routedDispatcher(local, served.owners) : local;

  const endpoints = new Map<string, Dialect>([
    ['/ws', nativeDialect],
    ['/ws/video-call', videoCallDialect],
    ['/ws/chat', chatProtobufDialect],
    ['/ws/room', roomDialect],
    ['/ws/meeting', meetingDialect],
  ]);
  const gateway = new Gateway({
    nodeId,
    config,
    endpoints,
    foreignPrefixes: [SOCKET_IO_PATH],
    auth,
    hub,
    directory: announced,
    onDeviceOnline: served.onDeviceOnline,
    onDeviceOffline: served.onDeviceOffline,
    onMeetingDeviceOffline: served.onMeetingDeviceOffline,
    dispatcher,
    ...(cluster && routing ? { rate: cluster.rate, remoteSessions: routing.remoteSessions() } : {}),
    metrics,
    log,
  });
  routing?.handOffSessionsOf(gateway);

  const http = new Hono();
  http.use('*', bodyCap(config.rest));
  const restRate = new KeyedRateLimiter(config.rest.ratePerSec, config.rest.rateBurst);
  const restAuth = rateLimitedAuth(auth, restRate);
  // Not ready (503) while the store refuses writes or its file is gone: records are kept and
  // retried meanwhile, but a load balancer should prefer a node whose store works.
  // Each route module mounted with the operations it declares: the OpenAPI document is made
  // of them (a test holds it to the routes registered here).
  const openApi = new ApiDocument();
  const mount = <E extends Env>(base: string, routes: Hono<E>, ops: Operations) => {
    http.route(base, routes);
    openApi.add(base, ops);
  };
  mount(
    '/healthz',
    healthRoutes(() => {
      const store = storeHealth();
      return {
        up: store.up,
        body: {
          status: store.up ? 'ok' : 'degraded',
          node: nodeId,
          store,
          connections: hub.size,
          calls: engine.size,
          meetings: rtc.size,
          sfuWorkers: sfu.workers(),
          ...(cluster ? { cluster: cluster.health() } : {}),
        },
      };
    }),
    HEALTH_OPS,
  );
  // /metrics on the API's port unless it has a listener of its own (metrics.port).
  const metricsApart =
    config.metrics.port === undefined ? null : metricsServer(metrics, config.metrics);
  if (!metricsApart) mount('/metrics', metricsRoutes(metrics, config.metrics), METRICS_OPS);
  mount('/api/calls', callRoutes(restAuth, records), CALL_OPS);
  mount('/api/meetings', meetingRoutes(restAuth, meetings), MEETING_OPS);
  mount(
    '/api/presence',
    presenceRoutes(restAuth, directory, config.rest.presenceScope),
    PRESENCE_OPS,
  );
  mount('/api/media-config', mediaRoutes(restAuth, config.ice), MEDIA_OPS);
  const admin = new AdminService({
    nodeId,
    local: adminLocal,
    peers: routing?.adminPeers() ?? null,
    placement,
    meetingNodes: (id) => routing?.meetingHolders(id) ?? Promise.resolve([nodeId]),
    directory,
    meetings,
    revoker,
  });
  mount('/api/admin/webhooks', adminWebhookRoutes(restAuth, webhooks), ADMIN_WEBHOOK_OPS);
  mount('/api/admin', adminRoutes(restAuth, admin), ADMIN_OPS);
  if (devLoginEnabled(config)) {
    http.use('/api/dev/*', ipRateLimit(restRate));
    mount('/api/dev', devRoutes(auth), DEV_OPS);
    log.warn(
      { event: 'dev_login' },
      'dev sign-in is on: anyone who reaches /api/dev/token signs in',
    );
  }
  mount('/api/openapi.json', openApiRoutes(openApi, VERSION), OPENAPI_OPS);
  http.route('/', webRoutes(config.web));
  http.notFound((c) => fail(c, AppError.notFound('route')));
  http.onError((err, c) => {
    const error = asAppError(err);
    if (error.code === 'internal') log.error({ event: 'http_error', err }, 'request failed');
    return fail(c, error);
  });

  const listener = getRequestListener(http.fetch);
  const server = createHttpServer(config.connections, (req, res) => void listener(req, res));
  gateway.attach(server);
  const socketIo = new SocketIoGateway({
    config,
    auth,
    hub,
    rate: gateway.rate,
    dispatcher,
    onDeviceOffline: served.onMeetingDeviceOffline,
    ...(cluster ? { adapter: cluster.socketIoAdapter() } : {}),
    metrics,
    log,
  });
  socketIo.attach(server);

  let closing: Promise<void> | null = null;
  return {
    nodeId,
    config,
    auth,
    revoker,
    openApi,
    routes: http.routes,
    engine,
    records,
    metrics,
    log,
    db,
    sfu,
    meetings,
    rtc,
    server,
    metricsServer: metricsApart,
    webhooks,
    cluster,
    async listen() {
      if (metricsApart) await listenOn(metricsApart, config.metrics.port!, config.metrics.host);
      return listenOn(server, config.server.port, config.server.host);
    },
    close() {
      closing ??= (async () => {
        log.info({ event: 'shutdown', calls: engine.size }, 'shutting down');
        server.close();
        metricsApart?.close();
        if (lastSeenTimer) clearInterval(lastSeenTimer);
        // A store that is down must not hold the stop: what it has not taken by then is
        // journaled, and written at the next start.
        const share = config.server.shutdownTimeoutMs * 0.4;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([engine.shutdown(), new Promise((r) => (timer = setTimeout(r, share)))]);
        clearTimeout(timer);
        rtc.close();
        revoker.close();
        gateway.close();
        await socketIo.close();
        rooms.close();
        sfu.close();
        await records.close(share);
        // Whatever was not delivered stays in the outbox for the next run or another node.
        await webhooks.close();
        server.closeAllConnections();
        await (cluster ?? bus).close();
        await db.kysely.destroy();
      })();
      return closing;
    },
  };
}
