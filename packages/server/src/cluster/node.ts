import type { Redis } from 'ioredis';
import type { Command } from '@parley/protocol';
import type { CallEngine } from '../calls/index.ts';
import type {
  AdminOp,
  AdminPeers,
  AdminResults,
  Bus,
  MeetingSpanPort,
  Owners,
  Sender,
  SpanRequest,
} from '../core/index.ts';
import { linkHostOf, type Config } from '../config/index.ts';
import {
  rateBudgets,
  type Dispatcher,
  type Gateway,
  type Hub,
  type RemoteSessions,
} from '../gateway/index.ts';
import type { RtcService } from '../meetings/index.ts';
import type { Logger } from '../observability/index.ts';
import type { SignalRelay } from '../relay/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import type { RoomManager, RoomMirror } from '../rooms/index.ts';
import type { CallRecordStore, Db } from '../store/index.ts';
import { BusRouter } from './bus-router.ts';
import { RedisCallIndex } from './call-index.ts';
import { routeCalls } from './call-routes.ts';
import { CallAnnouncer, ClusterCalls } from './calls.ts';
import { RedisDirectory } from './directory.ts';
import { fence } from './fencing.ts';
import { routeForwardedCommands } from './forwarded-commands.ts';
import { Janitor } from './janitor.ts';
import { LinkedBus } from './linked-bus.ts';
import { NodeLinks } from './links.ts';
import { MeetingRouting } from './meeting-routing.ts';
import { RedisMeetingSpan } from './meeting-span.ts';
import { PresenceRouting, type DeviceHooks, type SpreadHooks } from './presence-routing.ts';
import { SharedRateLimiter } from './rate.ts';
import { RedisBus } from './redis-bus.ts';
import { RedisPlacement } from './redis-placement.ts';
import { RedisRoomMirror } from './room-mirror.ts';
import { connectRedis, keysFor, openRedis, type Keys } from './redis.ts';
import { NodeRegistry } from './registry.ts';
import { RoomsLease } from './rooms-lease.ts';
import { RouteCache } from './routes.ts';
import { Rpc } from './rpc.ts';
import { SessionHandoffs } from './session-handoff.ts';
import { socketIoRedis, type SocketIoRedis } from './socket-io-adapter.ts';

export type { DeviceHooks } from './presence-routing.ts';

/** What joining the cluster needs. */
export interface ClusterOptions {
  nodeId: string;
  redisUrl: string;
  config: Pick<Config, 'server' | 'cluster' | 'limits' | 'calls'>;
  log: Logger;
}

/** The node's parts the cluster routes to. */
export interface ServeOptions {
  hub: Hub;
  engine: CallEngine;
  records: CallRecordStore;
  db: Db;
  /** This node's own dispatcher: runs commands here, for local clients and forwarded ones. */
  local: Dispatcher;
  /** What this node does when a device comes or goes (its calls, rooms, meetings). */
  here: DeviceHooks;
  /** The media rooms of the meetings this node holds. */
  rtc: RtcService;
  /** The rooms, which this node serves while it holds the rooms lease. */
  rooms: RoomManager;
  /** The engine's relay: a device on this node relays along its call's route with it. */
  relay: SignalRelay;
  /** Runs what another node's admin API asks of this one. */
  admin: (op: AdminOp) => Promise<unknown>;
  /**
   * The presence directory as the gateway uses it (this node's `directory`, perhaps wrapped to
   * announce users going offline): the janitor removes a dead node's devices through it.
   */
  directory: PresenceDirectory;
}

/** What app.ts gets back: where commands run, and the device hooks that spread. */
export interface Served extends SpreadHooks {
  owners: Owners;
}

/**
 * This node as a member of a Redis cluster: the bus, the node registry and its janitor, the
 * presence directory, the call index and relay routes, and the rate budget, all over Redis.
 * Where each command runs:
 *  - calls on their owner (the node that created them); relay between the two devices' nodes;
 *  - rooms and group chat on the node holding the rooms lease (one for the cluster: ROOM's
 *    checks look across rooms, at who shares any room and who offered whom); the holder
 *    mirrors them in Redis and the next holder takes them over;
 *  - everything else where it arrives.
 */
export class ClusterNode {
  readonly bus: Bus;
  readonly directory: PresenceDirectory;
  readonly rate: SharedRateLimiter;
  readonly registry: NodeRegistry;
  /** Which node runs a call, a meeting's media room, the rooms. */
  readonly placement: RedisPlacement;
  private readonly meetings: MeetingRouting;
  private readonly index: RedisCallIndex;
  private readonly routes: RouteCache;
  private readonly rpc: Rpc;
  private readonly keys: Keys;
  private readonly mirror: RedisRoomMirror;
  private readonly sessions: SessionHandoffs;
  private span: RedisMeetingSpan | null = null;
  private janitor: Janitor | null = null;
  /** socket.io's adapter over Redis, made when the app asks for it, closed with the node. */
  private socketIo: SocketIoRedis | null = null;
  private readonly log: Logger;

  private constructor(
    private readonly o: ClusterOptions,
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly pub: Redis,
    private readonly links: NodeLinks | null,
  ) {
    const { nodeId, config, log } = o;
    this.log = log.child({ mod: 'cluster' });
    const keys = (this.keys = keysFor(config.cluster.prefix));
    const redisBus = new RedisBus(pub, sub, keys, log);
    this.bus = links ? new LinkedBus(redisBus, links) : redisBus;
    this.registry = new NodeRegistry({
      nodeId,
      redis,
      keys,
      cluster: config.cluster,
      ...(links ? { advert: links.advert } : {}),
      log,
    });
    links?.usePeers(this.registry);
    this.directory = new RedisDirectory(redis, keys, this.registry, nodeId, log);
    this.index = new RedisCallIndex(redis, keys, this.registry, log);
    this.rate = new SharedRateLimiter(
      redis,
      keys,
      rateBudgets(config.limits),
      config.cluster.rateSyncMs,
      log,
    );
    this.rpc = new Rpc(nodeId, this.bus, config.cluster.requestTimeoutMs, log);
    this.mirror = new RedisRoomMirror(redis, keys, log);
    this.routes = new RouteCache(nodeId, this.bus);
    this.placement = new RedisPlacement(nodeId, redis, keys, this.registry, log);
    this.meetings = new MeetingRouting(
      nodeId,
      this.placement,
      this.rpc,
      log,
      config.cluster.meetingsSpan ? this.meetingSpan() : null,
    );
    this.sessions = new SessionHandoffs(this.registry, this.rpc);
  }

  /** The cluster as meetings that span its nodes see it (see RtcService's `span`). */
  meetingSpan(): MeetingSpanPort {
    this.span ??= new RedisMeetingSpan(
      this.o.nodeId,
      this.redis,
      this.keys,
      this.registry,
      this.bus,
      this.rpc,
    );
    return this.span;
  }

  /** Connects to Redis and registers this node; fails with how to start Redis if it cannot. */
  static async join(o: ClusterOptions): Promise<ClusterNode> {
    const redis = connectRedis(o.redisUrl, o.log, 'cmd');
    const sub = connectRedis(o.redisUrl, o.log, 'sub');
    // The bus batches a turn's messages itself; its own connection writes them at once rather
    // than waiting another turn for ioredis's pipeline (a cross-node message's latency).
    const pub = connectRedis(o.redisUrl, o.log, 'pub', false);
    await openRedis(redis, o.redisUrl);
    for (const other of [sub, pub]) {
      await openRedis(other, o.redisUrl).catch((err: unknown) => {
        for (const r of [redis, sub, pub]) r.disconnect();
        throw err;
      });
    }
    const { cluster } = o.config;
    let links: NodeLinks | null = null;
    try {
      links = cluster.links
        ? await NodeLinks.listen({
            nodeId: o.nodeId,
            host: linkHostOf(o.config),
            port: cluster.linkPort,
            pingMs: cluster.heartbeatMs,
            timeoutMs: cluster.nodeTtlMs,
            log: o.log,
          })
        : null;
    } catch (err) {
      for (const r of [redis, sub, pub]) r.disconnect();
      throw err;
    }
    const node = new ClusterNode(o, redis, sub, pub, links);
    await node.registry.start();
    return node;
  }

  /** Where the rooms' holder copies their state for its successor. */
  roomMirror(): RoomMirror {
    return this.mirror;
  }

  /** Resumes of sessions that another node issued: asked of that node over the bus. */
  remoteSessions(): RemoteSessions {
    return this.sessions.remote();
  }

  /** The other nodes, for the admin API: the live ones, and each one's AdminOps over the bus. */
  adminPeers(): AdminPeers {
    return {
      nodes: () => this.registry.live(),
      ask: async <O extends AdminOp>(nodeId: string, op: O) =>
        (await this.rpc.ask(nodeId, (corr, replyTo) => ({
          kind: 'admin',
          corr,
          replyTo,
          op,
        }))) as AdminResults[O['op']],
    };
  }

  /** Lets other nodes take over this gateway's sessions when their devices resume there. */
  handOffSessionsOf(gateway: Pick<Gateway, 'handOff'>): void {
    this.sessions.handOffFrom(gateway);
  }

  /** The engine's watcher: keeps the call index and routes of the calls this node owns. */
  announcer(hub: Hub): CallAnnouncer {
    const announcer = new CallAnnouncer(this.parts(hub));
    this.registry.onReconnect(() => announcer.restore());
    return announcer;
  }

  /** Starts serving: routes commands, listens on the bus, runs the janitor. */
  serve(s: ServeOptions): Served {
    const { nodeId, config } = this.o;
    const here = (sender: Sender, c: Command) => s.local.run(sender, c);
    const calls = new ClusterCalls({
      ...this.parts(s.hub),
      engine: s.engine,
      registry: this.registry,
      rpc: this.rpc,
      local: here,
      relay: s.relay,
      placement: this.placement,
    });
    const lease = new RoomsLease({
      nodeId,
      placement: this.placement,
      registry: this.registry,
      mirror: this.mirror,
      directory: this.directory,
      rpc: this.rpc,
      vacancyWaitMs: 2 * config.cluster.heartbeatMs + config.cluster.nodeTtlMs,
      log: this.log,
    });
    const presence = new PresenceRouting({
      nodeId,
      bus: this.bus,
      registry: this.registry,
      calls,
      meetings: this.meetings,
      here: s.here,
      rtc: s.rtc,
      hub: s.hub,
      fenced: () => fence({ engine: s.engine, hub: s.hub, log: this.log }),
    });
    // Each domain's bus messages, by kind.
    const router = new BusRouter(this.bus, nodeId);
    this.rpc.listen(router);
    routeForwardedCommands(router, { rpc: this.rpc, hub: s.hub, run: lease.forwarded(here) });
    routeCalls(router, { routes: this.routes, hub: s.hub, relay: s.relay });
    presence.register(router);
    this.sessions.register(router);
    this.meetings.register(router, s.rtc);
    // The admin API of another node: what it asks of this node's calls, devices, media rooms.
    router.on('admin', (m) => this.rpc.answer(m, `admin:${m.op.op}`, () => s.admin(m.op)));
    // Meetings spanning the nodes: news and pipe requests between the nodes serving one.
    const spanAnswer = (m: SpanRequest & { corr: string; replyTo: string }) =>
      this.rpc.answer(m, m.kind, () => s.rtc.span?.answer(m.replyTo, m) ?? null);
    router
      .on('span-snapshot', spanAnswer)
      .on('span-pipe', spanAnswer)
      .on('span-event', (m) => s.rtc.span?.notice(m.from, m))
      .on('span-unpipe', (m) => s.rtc.span?.notice(m.from, m));
    this.janitor = new Janitor({
      nodeId,
      redis: this.redis,
      keys: this.keys,
      registry: this.registry,
      directory: s.directory,
      index: this.index,
      records: s.records,
      db: s.db,
      bus: this.bus,
      delivery: s.hub,
      cluster: config.cluster,
      log: this.o.log,
    });
    this.janitor.start();
    lease.follow(s.rooms);
    return {
      owners: {
        invite: (sender, c) => calls.invite(sender, c),
        call: (sender, c) => calls.run(sender, c),
        rooms: (sender, c) => lease.run(here, sender, c),
        meeting: (sender, c) => this.meetings.run(s.rtc, here, sender, c),
      },
      ...presence.hooks(),
    };
  }

  /** What the REST meeting service calls to leave and end meetings (see MeetingRouting). */
  meetingRooms(rtc: RtcService): Pick<RtcService, 'userLeft' | 'ended'> {
    return this.meetings.forRest(rtc);
  }

  /** The nodes holding a meeting's media, for the admin API (see MeetingRouting.holders). */
  meetingHolders(meetingId: string): Promise<string[]> {
    return this.meetings.holders(meetingId);
  }

  /** socket.io's Redis adapter, so that socket.io broadcasts and fetchSockets() span the nodes. */
  socketIoAdapter(): SocketIoRedis['adapter'] {
    this.socketIo ??= socketIoRedis(this.o.redisUrl, this.o.config.cluster.prefix);
    return this.socketIo.adapter;
  }

  /**
   * For /healthz: whether Redis answers, and what this node sees of the cluster (`links`: the
   * nodes it sends to over a direct link rather than through Redis).
   */
  health(): {
    redis: 'up' | 'down';
    roomsNode: string | null;
    deadNodes: number;
    links: string[];
  } {
    return {
      redis: this.registry.connected ? 'up' : 'down',
      roomsNode: this.registry.roomsLeader(),
      deadNodes: this.registry.dead().length,
      links: this.links?.linked() ?? [],
    };
  }

  /** One janitor pass now (tests). */
  sweep(): Promise<void> {
    return this.janitor?.sweep() ?? Promise.resolve();
  }

  /** Leaves the cluster: stops the janitor and heartbeat, fails pending requests, disconnects. */
  async close(): Promise<void> {
    await this.janitor?.stop();
    await this.registry.stop();
    this.rate.close();
    this.rpc.close();
    await this.bus.close();
    this.sub.disconnect();
    this.pub.disconnect();
    for (const r of this.socketIo?.connections ?? []) r.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private parts(hub: Hub) {
    return {
      nodeId: this.o.nodeId,
      index: this.index,
      routes: this.routes,
      bus: this.bus,
      hub,
      directory: this.directory,
      log: this.o.log,
    };
  }
}
