import type { Redis } from 'ioredis';
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Keys } from './redis.ts';

/** What the registry needs. */
export interface NodeRegistryOptions {
  nodeId: string;
  redis: Redis;
  keys: Keys;
  cluster: Pick<Config['cluster'], 'heartbeatMs' | 'nodeTtlMs'>;
  /** How other nodes reach this one directly (its link), kept in its liveness key. */
  advert?: string;
  log: Logger;
}

/**
 * Renews a lease, or takes it when vacant and ARGV[3] is '1'; returns its holder ('' when
 * vacant). KEYS[1] the lease, ARGV[1] this node, ARGV[2] its TTL in ms.
 */
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if not holder then
  if ARGV[3] ~= '1' then return '' end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return holder`;

/**
 * The node registry: each node's liveness key, refreshed by a heartbeat with a TTL, and what
 * this node last saw of the others (live, dead) and of the rooms lease. Reads are from that
 * cache, so they never wait on Redis.
 */
export class NodeRegistry {
  private deadNodes: string[] = [];
  /** The other nodes whose liveness key was there at the last heartbeat. */
  private liveOthers: string[] = [];
  /** What each live node advertises in its liveness key (its link), as of the last heartbeat. */
  private adverts = new Map<string, string>();
  /**
   * Every node seen dead and not seen alive since, including those the janitor has cleaned up
   * after and removed from the registry (what they left behind stays theirs: dead).
   */
  private readonly deadSet = new Set<string>();
  private leader: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private up = false;
  /** Since when the connection has been up without a break (epoch ms; 0 while down). */
  private upSince = 0;
  private readonly reconnectHandlers: Array<() => void> = [];
  private readonly leaderHandlers = new Set<(leader: string | null) => void>();
  private readonly log: Logger;

  constructor(private readonly o: NodeRegistryOptions) {
    this.log = o.log.child({ mod: 'registry' });
    o.redis.on('ready', () => {
      const wasDown = !this.up;
      this.up = true;
      this.upSince = Date.now();
      if (wasDown && this.timer) {
        void this.beat();
        for (const h of this.reconnectHandlers) h();
      }
    });
    o.redis.on('close', () => {
      this.up = false;
      this.upSince = 0;
    });
  }

  /** Registers this node and starts the heartbeat. */
  async start(): Promise<void> {
    this.up = this.o.redis.status === 'ready';
    this.upSince = Date.now();
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.o.cluster.heartbeatMs);
    this.timer.unref();
  }

  /** Called after the connection to Redis came back (presence re-registers itself). */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  /**
   * Called when the rooms lease changes hands, after the heartbeat that saw it (so that
   * `isAlive` already knows about the nodes that died meanwhile).
   */
  onLeaderChange(handler: (leader: string | null) => void): void {
    this.leaderHandlers.add(handler);
  }

  /**
   * The rooms lease holder; while the lease is vacant (its holder died, a successor takes it
   * within two heartbeats) waits up to `timeoutMs` for one. Null when Redis is down or none
   * came: the caller serves alone.
   */
  leaderWithin(timeoutMs: number): Promise<string | null> {
    if (this.leader !== null || !this.up) return Promise.resolve(this.leader);
    return new Promise((resolve) => {
      const done = (leader: string | null) => {
        clearTimeout(timer);
        this.leaderHandlers.delete(wait);
        resolve(leader);
      };
      const wait = (leader: string | null) => {
        if (leader !== null) done(leader);
      };
      const timer = setTimeout(() => done(this.leader), timeoutMs);
      this.leaderHandlers.add(wait);
    });
  }

  /** Whether Redis is reachable now. */
  get connected(): boolean {
    return this.up;
  }

  /** How long the connection has been up without a break, in ms (0 while down). */
  get upForMs(): number {
    return this.up ? Date.now() - this.upSince : 0;
  }

  /**
   * Whether `nodeId` may be alive: not seen dead (or seen alive again since). A node that
   * joined after the last heartbeat is taken for alive.
   */
  isAlive(nodeId: string): boolean {
    return !this.deadSet.has(nodeId);
  }

  /**
   * Asks Redis whether a node taken for dead is alive after all (it came back since the last
   * heartbeat, e.g. after a stall): true, and it counts as alive again, when its liveness key
   * is there. For the unhappy path only: it costs a round trip.
   */
  async confirmAlive(nodeId: string): Promise<boolean> {
    if (this.isAlive(nodeId)) return true;
    const back = (await this.o.redis.exists(this.o.keys.alive(nodeId)).catch(() => 0)) === 1;
    if (back) this.deadSet.delete(nodeId);
    return back;
  }

  /**
   * A janitor cleaned up after `nodeId`: it is dead here too, even if this node's heartbeats
   * never saw its liveness expire (the janitor may forget it first).
   */
  markDead(nodeId: string): void {
    if (nodeId !== this.o.nodeId) this.deadSet.add(nodeId);
  }

  /** How to reach `nodeId` directly, as of the last heartbeat ('' or undefined: no link). */
  advertOf(nodeId: string): string | undefined {
    return this.adverts.get(nodeId);
  }

  /** This node and every other node alive at the last heartbeat. */
  live(): string[] {
    return [this.o.nodeId, ...this.liveOthers.filter((n) => this.isAlive(n))];
  }

  /** Registered nodes whose liveness expired at the last heartbeat. */
  dead(): readonly string[] {
    return this.deadNodes;
  }

  /** The node that holds the rooms, as of the last heartbeat. */
  roomsLeader(): string | null {
    return this.leader;
  }

  /** Forgets a dead node once the janitor has cleaned up after it. */
  async forget(nodeId: string): Promise<void> {
    await this.o.redis.srem(this.o.keys.nodes, nodeId);
    this.deadNodes = this.deadNodes.filter((n) => n !== nodeId);
  }

  /** Stops the heartbeat and leaves the registry (graceful shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.up) return;
    const { redis, nodeId, keys: key } = this.o;
    await redis
      .multi()
      .del(key.alive(nodeId))
      .srem(key.nodes, nodeId)
      .eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        key.roomsLeader,
        nodeId,
      )
      .exec()
      .catch((err: unknown) =>
        this.log.warn({ event: 'deregister_failed', err }, 'could not leave the registry'),
      );
  }

  /** Refreshes this node's liveness, reads everyone else's and takes or renews the lease. */
  private async beat(): Promise<void> {
    const { redis, nodeId, cluster, keys: key } = this.o;
    const mayTake = this.leader === null || this.leader === nodeId;
    try {
      const results = await redis
        .multi()
        .set(key.alive(nodeId), this.o.advert ?? '', 'PX', cluster.nodeTtlMs)
        .sadd(key.nodes, nodeId)
        .smembers(key.nodes)
        // A vacant lease goes to its last holder first (Redis restarted, the holder did not):
        // the others take it only once they have seen it vacant for a whole heartbeat.
        .eval(LEASE, 1, key.roomsLeader, nodeId, cluster.nodeTtlMs, mayTake ? '1' : '0')
        .exec();
      const nodes = (results?.[2]?.[1] ?? []) as string[];
      const before = this.leader;
      this.leader = (results?.[3]?.[1] as string | undefined) || null;
      const others = nodes.filter((n) => n !== nodeId);
      const alive =
        others.length > 0 ? await redis.mget(...others.map((n) => key.alive(n))) : ([] as null[]);
      this.deadNodes = others.filter((_, i) => alive[i] === null);
      this.liveOthers = others.filter((_, i) => alive[i] !== null);
      this.adverts = new Map(others.flatMap((n, i) => (alive[i] ? [[n, alive[i]]] : [])));
      others.forEach((n, i) => (alive[i] === null ? this.deadSet.add(n) : this.deadSet.delete(n)));
      if (this.leader !== before) for (const h of this.leaderHandlers) h(this.leader);
    } catch (err) {
      this.log.debug({ event: 'heartbeat_failed', err: (err as Error).message }, 'heartbeat');
    }
  }
}
