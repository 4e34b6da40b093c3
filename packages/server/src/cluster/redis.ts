import { Redis } from 'ioredis';
import type { Logger } from '../observability/index.ts';

/** Key and channel names, all under one prefix (`cluster.prefix`) so that clusters can share a Redis. */
export function keysFor(prefix: string) {
  return {
    /** Every node that has registered (alive or not yet cleaned up after). */
    nodes: `${prefix}:nodes`,
    /** A node's liveness, with a TTL its heartbeat refreshes. */
    alive: (nodeId: string) => `${prefix}:alive:${nodeId}`,
    /** The lock of the janitor that cleans up after a dead node. */
    janitor: (nodeId: string) => `${prefix}:janitor:${nodeId}`,
    /** The node that holds the rooms (a lease, renewed by its heartbeat). */
    roomsLeader: `${prefix}:rooms-node`,
    /** A node's bus channel. */
    channel: (nodeId: string) => `${prefix}:node:${nodeId}`,
    /** The channel every node listens to. */
    broadcast: `${prefix}:all`,
    /** user → deviceId → presence entry. */
    presence: (userId: string) => `${prefix}:presence:${userId}`,
    /** Every user with presence entries. */
    presenceUsers: `${prefix}:presence-users`,
    /** The `userId\0deviceId` of a node's devices, for cleanup when it dies. */
    nodeDevices: (nodeId: string) => `${prefix}:node-devices:${nodeId}`,
    /** user → callId → call summary, for every live call of the user. */
    calls: (userId: string) => `${prefix}:calls:${userId}`,
    /** callId → how the call started, for every live call a node owns (its janitor's list). */
    nodeCalls: (nodeId: string) => `${prefix}:node-calls:${nodeId}`,
    /** Messages of a class a user sent in one window, cluster-wide, for the shared budget. */
    rate: (userId: string, window: number, cls: string) =>
      `${prefix}:rate:${cls}:${userId}:${window}`,
    /** `roomId\0deviceId` → membership, for whichever node holds the rooms next. */
    roomMembers: `${prefix}:room-members`,
    /** `from\0to` → phase of each ROOM signaling pair, likewise. */
    roomPairs: `${prefix}:room-pairs`,
    /** meeting → the node that holds its media room. */
    meeting: (meetingId: string) => `${prefix}:meeting:${meetingId}`,
    /** meeting → the nodes serving its peers, when meetings span the nodes. */
    meetingNodes: (meetingId: string) => `${prefix}:meeting-nodes:${meetingId}`,
    /** node → the meetings whose node sets list it, for cleanup when it dies. */
    nodeMeetings: (nodeId: string) => `${prefix}:node-meetings:${nodeId}`,
    /** user → node → the user's media peers (slots) on that node, for the per-user cap. */
    userPeers: (userId: string) => `${prefix}:user-peers:${userId}`,
    /** node → the users with media peers on it, for cleanup when it dies. */
    nodeUserPeers: (nodeId: string) => `${prefix}:node-user-peers:${nodeId}`,
    /** A lease one node of the cluster holds at a time (e.g. a webhook endpoint's deliverer). */
    lease: (name: string) => `${prefix}:lease:${name}`,
    /** The last fencing token of a lease (counts its takings). */
    leaseToken: (name: string) => `${prefix}:lease-token:${name}`,
  };
}

/** The key names of one cluster. */
export type Keys = ReturnType<typeof keysFor>;

/** Redis is needed and did not answer: startup fails with this, saying what to do. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * A connection that fails commands at once while disconnected (no offline queue: a node keeps
 * serving its own users instead of stalling) and reconnects forever with a capped backoff.
 */
export function connectRedis(url: string, log: Logger, role: string, pipelined = true): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands issued in one turn of the event loop share one write.
    enableAutoPipelining: pipelined,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    connectionName: `parley-${role}`,
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ event: 'redis_error', role, err: err.message }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ event: 'redis_reconnected', role }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/** Connects, or fails with a message that says how to get Redis. */
export async function openRedis(redis: Redis, url: string): Promise<void> {
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new RedisUnavailableError(
      `Redis is needed at ${url} (REDIS_URL) and did not answer: ${(err as Error).message}. ` +
        'Start it (e.g. `redis-server --daemonize yes`) or unset REDIS_URL for a single node.',
    );
  }
}

/** Deletes every key under `prefix` (a cluster's, when a bench or test cluster is done). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
