import type { Redis } from 'ioredis';
import {
  frameClock,
  type BusRoutes,
  type Bus,
  type CallIndex,
  type Delivery,
  type MeetingSpanPort,
  type Nodes,
  type PresenceDirectory,
  type Requests,
  type RoomMirror,
  type UserPeers,
} from '../core/index.ts';
import { linkHostOf, type Config } from '../config/index.ts';
import { rateBudgets } from '../gateway/index.ts';
import type { Logger } from '../observability/index.ts';
import type { CallRecordStore, Db } from '../store/index.ts';
import { BusRouter } from './bus-router.ts';
import { RedisCallIndex } from './call-index.ts';
import { RedisDirectory } from './directory.ts';
import { fence, type Fenced } from './fencing.ts';
import { Janitor } from './janitor.ts';
import { LinkedBus } from './linked-bus.ts';
import { NodeLinks } from './links.ts';
import { RedisMeetingSpan } from './meeting-span.ts';
import { SharedRateLimiter } from './rate.ts';
import { RedisBus } from './redis-bus.ts';
import { RedisPlacement } from './redis-placement.ts';
import { RedisRoomMirror } from './room-mirror.ts';
import { connectRedis, keysFor, openRedis, type Keys } from './redis.ts';
import { NodeRegistry } from './registry.ts';
import { Rpc } from './rpc.ts';
import { socketIoRedis, type SocketIoRedis } from './socket-io-adapter.ts';
import { RedisUserPeers } from './user-peers.ts';

/** What joining the cluster needs. */
export interface ClusterOptions {
  nodeId: string;
  redisUrl: string;
  config: Pick<Config, 'server' | 'cluster' | 'limits' | 'calls'>;
  log: Logger;
}

/** What the janitor writes and tells when it cleans up after a dead node. */
export interface JanitorParts {
  records: CallRecordStore;
  db: Db;
  delivery: Delivery;
  /**
   * The presence directory as the gateway uses it (this node's `directory`, perhaps wrapped to
   * announce users going offline): the janitor removes a dead node's devices through it.
   */
  directory: PresenceDirectory;
}

/**
 * This node as a member of a Redis cluster: its adapters only. The bus (Redis, with direct
 * links), the node registry and its janitor, the presence directory, the call index, the
 * rooms' mirror, placement and leases, the rate budget, the request/reply over the bus and the
 * router of its messages by kind. The domains' routers (calls, meetings, presence, rooms,
 * sessions, admin) are registered on these ports by the composition root (app.ts); nothing
 * here knows a domain.
 */
export class ClusterNode {
  readonly nodeId: string;
  readonly bus: Bus;
  readonly directory: PresenceDirectory;
  readonly rate: SharedRateLimiter;
  /** The cluster's members as this node sees them. */
  readonly nodes: Nodes;
  /** Which node runs a call, a meeting's media room, the rooms. */
  readonly placement: RedisPlacement;
  /** This node's bus messages, by kind: each domain's router registers its own. */
  readonly router: BusRoutes;
  /** Requests to other nodes and their replies. */
  readonly requests: Requests;
  /** user → live calls, across the nodes. */
  readonly index: CallIndex;
  /** Where the rooms' holder copies their state for its successor. */
  readonly mirror: RoomMirror;
  /** The cluster as meetings that span its nodes see it; null unless they do (meetingsSpan). */
  readonly span: MeetingSpanPort | null;
  /** Users' media peers on every node, for the per-user cap across meetings. */
  readonly userPeers: UserPeers;
  /** Longest a room command waits for a successor while the rooms lease is vacant. */
  readonly vacancyWaitMs: number;
  readonly log: Logger;
  private readonly registry: NodeRegistry;
  private readonly callIndex: RedisCallIndex;
  private readonly rpc: Rpc;
  private readonly keys: Keys;
  private readonly peerSlots: RedisUserPeers;
  private janitor: Janitor | null = null;
  /** socket.io's adapter over Redis, made when the app asks for it, closed with the node. */
  private socketIo: SocketIoRedis | null = null;

  private constructor(
    private readonly o: ClusterOptions,
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly pub: Redis,
    private readonly links: NodeLinks | null,
  ) {
    const { nodeId, config, log } = o;
    this.nodeId = nodeId;
    this.log = log.child({ mod: 'cluster' });
    const keys = (this.keys = keysFor(config.cluster.prefix));
    const redisBus = new RedisBus(pub, sub, keys, log);
    this.bus = links ? new LinkedBus(redisBus, links) : redisBus;
    this.nodes = this.registry = new NodeRegistry({
      nodeId,
      redis,
      keys,
      cluster: config.cluster,
      ...(links ? { advert: links.advert } : {}),
      log,
    });
    links?.usePeers(this.registry);
    this.directory = new RedisDirectory(redis, keys, this.registry, nodeId, log);
    this.index = this.callIndex = new RedisCallIndex(redis, keys, this.registry, log);
    this.rate = new SharedRateLimiter(
      redis,
      keys,
      rateBudgets(config.limits),
      config.cluster.rateSyncMs,
      log,
      frameClock,
    );
    const router = (this.router = new BusRouter(this.bus, nodeId));
    this.requests = this.rpc = new Rpc(nodeId, this.bus, config.cluster.requestTimeoutMs, log);
    this.rpc.listen(router);
    this.mirror = new RedisRoomMirror(redis, keys, log);
    this.placement = new RedisPlacement(nodeId, redis, keys, this.registry, log);
    this.span = config.cluster.meetingsSpan
      ? new RedisMeetingSpan(nodeId, redis, keys, this.registry, this.bus, this.rpc)
      : null;
    this.userPeers = this.peerSlots = new RedisUserPeers(nodeId, redis, keys, log);
    // Redis may have come back empty: this node's slots are written again.
    this.registry.onReconnect(() => this.peerSlots.reassert());
    this.vacancyWaitMs = 2 * config.cluster.heartbeatMs + config.cluster.nodeTtlMs;
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
    await node.peerSlots.forget();
    await node.registry.start();
    return node;
  }

  /** Starts the janitor, which cleans up after dead nodes. */
  startJanitor(parts: JanitorParts): void {
    this.janitor = new Janitor({
      nodeId: this.nodeId,
      redis: this.redis,
      keys: this.keys,
      registry: this.registry,
      index: this.callIndex,
      ...parts,
      bus: this.bus,
      cluster: this.o.config.cluster,
      log: this.o.log,
    });
    this.janitor.start();
  }

  /** The cluster took this node for dead: it drops its calls and clients (see fence). */
  fence(parts: Omit<Fenced, 'log'>): void {
    // The janitor removed this node's peer slots; its peers still hold them until they go.
    this.peerSlots.reassert();
    fence({ ...parts, log: this.log });
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
    await this.peerSlots.forget();
    await this.registry.stop();
    this.rate.close();
    this.rpc.close();
    await this.bus.close();
    this.sub.disconnect();
    this.pub.disconnect();
    for (const r of this.socketIo?.connections ?? []) r.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
