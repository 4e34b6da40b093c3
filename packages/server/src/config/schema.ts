import { availableParallelism } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { WEBHOOK_EVENTS } from '../core/index.ts';

const Ms = (def: number, description: string) =>
  Type.Integer({ minimum: 1, default: def, description });

/** A Standard Webhooks secret: `whsec_` and the base64 of the key. */
const WebhookSecret = Type.String({ pattern: '^whsec_[A-Za-z0-9+/]{16,}={0,2}$' });

/** Webhooks: where events are signed and sent (see README, Webhooks). */
const WebhooksSchema = Type.Object(
  {
    /** The single endpoint of PARLEY_WEBHOOK_URL (named `default`, every event). */
    url: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Its secret (PARLEY_WEBHOOK_SECRET). */
    secret: Type.Optional(WebhookSecret),
    /** Endpoints, each with its own secret and the events it wants (default: all). */
    endpoints: Type.Array(
      Type.Object({
        /** Names it in metrics, logs, the admin API; its deliveries are kept under it. */
        name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
        url: Type.String({ pattern: '^https?://' }),
        secret: WebhookSecret,
        events: Type.Optional(
          Type.Array(Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e))), { minItems: 1 }),
        ),
      }),
      { default: [] },
    ),
    /** First wait after a failed delivery; doubled (with jitter) at each failure. */
    retryMinMs: Ms(5_000, 'first retry delay'),
    /** Longest wait between two attempts. */
    retryMaxMs: Ms(3_600_000, 'longest retry delay'),
    /** How long an event is retried before it is dead-lettered. */
    giveUpAfterMs: Ms(86_400_000, 'retry period'),
    /** A delivery that has not answered by then failed. */
    timeoutMs: Ms(10_000, 'delivery timeout'),
    /** How often the deliverer looks for events written by other nodes or due for retry. */
    pollMs: Ms(500, 'outbox poll interval'),
    /** Events of different calls and meetings sent at once, per endpoint. */
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 16 }),
    /** How long the lease of an endpoint's deliverer lasts unless renewed (cluster). */
    leaseMs: Ms(10_000, 'deliverer lease'),
    /** How long delivered events are kept in the outbox. */
    retainMs: Ms(86_400_000, 'delivered events retention'),
  },
  { default: {} },
);

/** The whole configuration, with its defaults. Every field is documented in the README. */
export const ConfigSchema = Type.Object({
  server: Type.Object(
    {
      host: Type.String({ default: '127.0.0.1' }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
      /** Grace for in-flight work on SIGTERM before the process exits anyway. */
      shutdownTimeoutMs: Ms(10_000, 'shutdown grace'),
      /**
       * Proxies (addresses or CIDRs) whose X-Forwarded-For names the client's address in the
       * call event logs. Default none: the socket's peer is the client.
       */
      trustedProxies: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    },
    { default: {} },
  ),
  auth: Type.Object(
    {
      /** HS256 shared secret. When neither this nor jwksUrl is set, one is generated in dataDir. */
      jwtSecret: Type.Optional(Type.String({ minLength: 16 })),
      /** JWKS URL for RS256/ES256 tokens issued by an identity provider. */
      jwksUrl: Type.Optional(Type.String()),
      issuer: Type.Optional(Type.String()),
      audience: Type.Optional(Type.String()),
      /** Lifetime of tokens minted by `parley token` and the dev sign-in, in seconds. */
      tokenTtlSec: Type.Integer({ minimum: 1, default: 86_400 }),
      /**
       * `POST /api/dev/token`: anyone who can reach the server signs in as any user. Unset: on
       * only for a local setup (no jwtSecret, no jwksUrl, listening on loopback).
       */
      devLogin: Type.Optional(Type.Boolean()),
      /**
       * How often each node reads the token revocations again from the store (ms): the bus
       * brings new ones at once; this catches what a node missed while Redis was away.
       */
      revocationRefreshMs: Type.Integer({ minimum: 100, default: 10_000 }),
    },
    { default: {} },
  ),
  dataDir: Type.String({ default: './data' }),
  /** The demo web app served at `/`. */
  web: Type.Object(
    {
      /** Directory of the built demo; default: packages/demo/dist of this checkout. */
      dir: Type.Optional(Type.String({ minLength: 1 })),
    },
    { default: {} },
  ),
  databaseUrl: Type.Optional(Type.String()),
  redisUrl: Type.Optional(Type.String()),
  log: Type.Object(
    {
      level: Type.Union(
        ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
        { default: 'info' },
      ),
    },
    { default: {} },
  ),
  calls: Type.Object(
    {
      /** How long an invite rings before it ends as no_answer. */
      inviteTtlMs: Ms(60_000, 'invite lifetime'),
      /** How long a party's dropped device may take to come back before its call ends. */
      disconnectGraceMs: Ms(5_000, 'disconnect grace'),
      /** `reject`: a callee already in a call makes the caller get busy. `ring`: call waiting. */
      busyPolicy: Type.Union([Type.Literal('reject'), Type.Literal('ring')], { default: 'reject' }),
      /** How long ICE that arrives before the call's first offer is held. */
      iceBufferMs: Ms(5_000, 'early ICE buffer'),
    },
    { default: {} },
  ),
  rooms: Type.Object(
    {
      /** A ROOM signaling pair with no traffic for this long is forgotten. */
      pairTimeoutMs: Ms(120_000, 'signaling pair idle timeout'),
      /**
       * The token grant needed to start a voice connection (WEBRTC_OFFER). Empty (default):
       * sharing a room with the target is the permission, as the spec's own check is.
       */
      voiceGrant: Type.String({ default: '' }),
      /**
       * Who may join a room. `open` (the ROOM spec, which has no membership model): anyone, any
       * room id. `grant`: only rooms the token's `grants` list as `room:<id or * pattern>`.
       */
      access: Type.Union([Type.Literal('open'), Type.Literal('grant')], { default: 'open' }),
    },
    { default: {} },
  ),
  limits: Type.Object(
    {
      /** Frames above this get a frame_too_large error; the connection stays up. */
      maxFrameBytes: Type.Integer({ minimum: 1024, default: 65_536 }),
      /**
       * Binary chat frames (`/ws/chat`) may be this large: a message carrying a file or an
       * inline avatar. Those above maxFrameBytes draw their size from chatBytesPerSec.
       */
      maxChatFrameBytes: Type.Integer({ minimum: 1024, default: 524_288 }),
      /** Per connection: bytes per second of chat frames above maxFrameBytes (burst: 2 s). */
      chatBytesPerSec: Type.Integer({ minimum: 1024, default: 1_048_576 }),
      /** Token bucket per user for call setup (invites, joins, other control): per second. */
      ratePerSec: Type.Number({ exclusiveMinimum: 0, default: 10 }),
      /** Token bucket per user for call setup: burst size. */
      rateBurst: Type.Integer({ minimum: 1, default: 40 }),
      /** Per user, relayed signaling (offer/answer/ICE, room signals, chat): per second. */
      signalRatePerSec: Type.Number({ exclusiveMinimum: 0, default: 100 }),
      /** Relayed signaling burst: an ICE restart on a multi-homed host fits with room to spare. */
      signalRateBurst: Type.Integer({ minimum: 1, default: 400 }),
      /** Per user, meeting requests (rtc:* but rtc:join): per second. */
      meetingRatePerSec: Type.Number({ exclusiveMinimum: 0, default: 100 }),
      /** Meeting requests burst: joining a meeting of 50 (~200 requests) fits twice. */
      meetingRateBurst: Type.Integer({ minimum: 1, default: 500 }),
      /** Rate-limited messages within one window that close the connection (4029). */
      floodStrikes: Type.Integer({ minimum: 1, default: 50 }),
      floodWindowMs: Ms(10_000, 'flood window'),
    },
    { default: {} },
  ),
  heartbeat: Type.Object(
    {
      intervalMs: Ms(30_000, 'ping interval'),
      /** A connection that has not answered a ping this long after it was sent is dropped. */
      timeoutMs: Ms(10_000, 'pong timeout'),
    },
    { default: {} },
  ),
  /** What a socket may hold before it is an authenticated live WebSocket, and after. */
  connections: Type.Object(
    {
      /** TCP connections per node (HTTP and WebSocket); beyond it requests get 503. */
      maxConnections: Type.Integer({ minimum: 1, default: 10_000 }),
      /** Upgrades still authenticating at once; beyond it an upgrade gets 503. */
      maxPendingUpgrades: Type.Integer({ minimum: 1, default: 1_000 }),
      /** An upgrade not authenticated and switched within this is closed (408). */
      upgradeTimeoutMs: Ms(10_000, 'upgrade timeout'),
      /** Time to receive a request's headers (node's server.headersTimeout). */
      headersTimeoutMs: Ms(10_000, 'HTTP headers timeout'),
      /** Time to receive a whole request, body included (node's server.requestTimeout). */
      requestTimeoutMs: Ms(30_000, 'HTTP request timeout'),
      /** An idle keep-alive HTTP connection is closed after this (server.keepAliveTimeout). */
      keepAliveTimeoutMs: Ms(5_000, 'HTTP keep-alive timeout'),
      /**
       * Bytes a WebSocket may have queued for a client that does not read (and bytes of a
       * resumable session's replay log). Beyond it nothing more is written to the socket
       * (a resumable session keeps it for replay) and the socket closes with 4013.
       */
      maxBufferedBytes: Type.Integer({ minimum: 65_536, default: 2 * 1024 * 1024 }),
      /**
       * A WebSocket with a backlog that does not drain for this long is closed (4013). Checked
       * at each heartbeat.
       */
      writeTimeoutMs: Ms(30_000, 'write (drain) timeout'),
    },
    { default: {} },
  ),
  /** The REST API (`/api/...`). */
  rest: Type.Object(
    {
      /** Request bodies above this get 413 before they are read (the JSON routes need < 1 KB). */
      maxBodyBytes: Type.Integer({ minimum: 1024, default: 16_384 }),
      /** Token bucket per user (per client IP on routes without a token), on each node. */
      ratePerSec: Type.Number({ exclusiveMinimum: 0, default: 20 }),
      rateBurst: Type.Integer({ minimum: 1, default: 100 }),
      /**
       * Whom `GET /api/presence` shows. `all`: every online user (the demo's lobby). `contacts`:
       * the users the token's `grants` list as `contact:<id or * pattern>` (all of them with
       * the grant `presence:all`).
       */
      presenceScope: Type.Union([Type.Literal('all'), Type.Literal('contacts')], {
        default: 'all',
      }),
    },
    { default: {} },
  ),
  /** `GET /metrics` (Prometheus). */
  metrics: Type.Object(
    {
      /** When set, /metrics requires `Authorization: Bearer <token>`. */
      token: Type.Optional(Type.String({ minLength: 16 })),
      /** When set, /metrics is served on this port only (on `host`), not on the main one. */
      port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
      host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    },
    { default: {} },
  ),
  /** Cluster mode (when redisUrl is set): liveness, presence and cross-node requests. */
  cluster: Type.Object(
    {
      /** Prefix of every Redis key and channel, so that several clusters can share a Redis. */
      prefix: Type.String({ pattern: '^[A-Za-z0-9_:.-]{1,64}$', default: 'parley' }),
      /** This node's id; default: random. Call ids start with it, so keep it short. */
      nodeId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' })),
      /** How often a node refreshes its liveness key (and with it its users' presence). */
      heartbeatMs: Ms(2_000, 'node heartbeat'),
      /**
       * Lifetime of a node's liveness key: a node silent this long is dead, its users leave
       * presence and a janitor finalises its calls (node_lost).
       */
      nodeTtlMs: Ms(10_000, 'node liveness TTL'),
      /** How often each node looks for dead nodes to clean up after. */
      janitorIntervalMs: Ms(5_000, 'janitor interval'),
      /** How long a node waits for another node to answer a forwarded command. */
      requestTimeoutMs: Ms(5_000, 'cross-node request timeout'),
      /** How often the per-user rate budgets are reconciled across nodes. */
      rateSyncMs: Ms(250, 'rate limit sync interval'),
      /**
       * Direct links between nodes: messages for one node go straight to it over a WebSocket
       * instead of through Redis pub/sub (one hop instead of two). Off: everything via Redis.
       */
      links: Type.Boolean({ default: true }),
      /**
       * Address the link listener binds to and the other nodes dial; default HOST, or
       * 127.0.0.1 when HOST is a wildcard. Set it to the node's private address when the
       * nodes run on different machines.
       */
      linkHost: Type.Optional(Type.String({ minLength: 1 })),
      /** Port of the link listener; 0: any free port (the nodes learn it through Redis). */
      linkPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
      /**
       * A meeting spans the nodes: each peer is served by a router on the node it is connected
       * to, and producers are piped between nodes where someone consumes them (see the
       * `sfu.pipe*` settings); the default. Off: a meeting's media room lives on one node, which
       * the others forward its rtc:* requests to.
       */
      meetingsSpan: Type.Boolean({ default: true }),
    },
    { default: {} },
  ),
  /** The mediasoup SFU that carries meetings. */
  sfu: Type.Object(
    {
      /** mediasoup worker processes (one per core by default). */
      workers: Type.Integer({ minimum: 1, maximum: 256, default: availableParallelism() }),
      /** Address the media sockets bind to (unset: an IPv4 `HOST`, see lan-address.ts). */
      listenIp: Type.String({ minLength: 1, default: '127.0.0.1' }),
      /** Address put in ICE candidates when it differs from listenIp (public IP behind NAT). */
      announcedIp: Type.Optional(Type.String({ minLength: 1 })),
      /** Port range of per-transport sockets (when no WebRtcServer is used). */
      rtcMinPort: Type.Integer({ minimum: 1024, maximum: 65535, default: 40000 }),
      rtcMaxPort: Type.Integer({ minimum: 1024, maximum: 65535, default: 49999 }),
      /**
       * UDP and TCP port of worker 0's WebRtcServer (worker i uses this + i), so that every
       * transport shares one port per worker. 0: each transport gets its own port.
       */
      webRtcServerPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
      /** The mediasoup-worker binary; see config/load.ts for how the default is found. */
      workerBin: Type.Optional(Type.String({ minLength: 1 })),
      /**
       * Consumers (of peers and of pipes between routers) one worker takes for meetings before a
       * meeting spreads to a router on another worker: about what one worker forwards within a
       * core (README, Benchmarks).
       */
      consumersPerWorker: Type.Integer({ minimum: 1, default: 800 }),
      /**
       * Address the PipeTransports that carry a meeting's media between nodes listen on (unset:
       * `listenIp`); set it to the node's private address when the nodes are on different
       * machines.
       */
      pipeListenIp: Type.Optional(Type.String({ minLength: 1 })),
      /**
       * Address the other nodes send a pipe's media to when it differs from `pipeListenIp` (NAT,
       * a wildcard listen address). Unset: `announcedIp` if `pipeListenIp` is unset too.
       */
      pipeAnnouncedIp: Type.Optional(Type.String({ minLength: 1 })),
      /** Port range of the pipes between nodes; 0 and 0: the worker's (`rtcMinPort`-`rtcMaxPort`). */
      pipeMinPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
      pipeMaxPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
      /** SRTP on the pipes between nodes: for a cluster network that is not trusted. */
      pipeSrtp: Type.Boolean({ default: false }),
      /** How long an empty meeting keeps its router before closing it. */
      emptyRoomGraceMs: Ms(30_000, 'empty room grace'),
      /** mediasoup worker log level. */
      logLevel: Type.Union(
        [Type.Literal('debug'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('none')],
        { default: 'warn' },
      ),
    },
    { default: {} },
  ),
  /**
   * Per-user caps, so that one user cannot make the server hold unbounded calls, meetings or
   * SFU state; each far above what a heavy legitimate user holds. Reaching one is
   * `limit_exceeded`. Counted on the node that holds the state (a cluster of N nodes may let a
   * user spread up to N times as much).
   */
  caps: Type.Object(
    {
      /** Outgoing calls of one user ringing at once. */
      ringingCallsPerUser: Type.Integer({ minimum: 1, default: 4 }),
      /** Meetings a user hosts that have not ended. */
      liveMeetingsPerUser: Type.Integer({ minimum: 1, default: 100 }),
      /** Media peers (rtc:join'ed connections) of one user in one meeting. */
      peersPerUserPerMeeting: Type.Integer({ minimum: 1, default: 8 }),
      /**
       * Media peers of one user across all meetings, counting the empty media rooms their joins
       * opened (each holds a router through `sfu.emptyRoomGraceMs`).
       */
      peersPerUser: Type.Integer({ minimum: 1, default: 32 }),
      /** WebRTC transports of one peer (a client uses a send and a recv one). */
      transportsPerPeer: Type.Integer({ minimum: 2, default: 4 }),
    },
    { default: {} },
  ),
  /** ICE servers handed to meeting clients (GET /api/meetings/:id/media-config). */
  ice: Type.Object(
    {
      /** `stun:` URLs. None by default: loopback and LAN deployments need none. */
      stunUrls: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      /** `turn:`/`turns:` URLs of a TURN server (coturn with `use-auth-secret`). */
      turnUrls: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      /** coturn's `static-auth-secret`: signs the ephemeral TURN credentials. */
      turnSecret: Type.Optional(Type.String({ minLength: 8 })),
      /** Lifetime of an ephemeral TURN credential. */
      turnTtlSec: Type.Integer({ minimum: 60, default: 86_400 }),
    },
    { default: {} },
  ),
  /** The record store's resilience: writes kept while it is down, this node's sign of life. */
  store: Type.Object(
    {
      /**
       * Record writes kept (in order, retried) while the store refuses them; beyond this a write
       * is refused and logged. 100,000 is about half a minute of calls at a thousand a second.
       */
      maxPendingWrites: Type.Integer({ minimum: 100, default: 100_000 }),
      /**
       * How often a node records that it is alive: after a kill -9, the calls it left open are
       * ended at its last sign of life.
       */
      lastSeenMs: Ms(5_000, 'sign of life interval'),
    },
    { default: {} },
  ),
  webhooks: WebhooksSchema,
});

/** Parsed, defaulted and frozen configuration. */
export type Config = Static<typeof ConfigSchema>;
