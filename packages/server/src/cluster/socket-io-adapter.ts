import { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';

/** socket.io's adapter and the two Redis connections it made, closed with the node. */
export interface SocketIoRedis {
  adapter: ReturnType<typeof createAdapter>;
  connections: Redis[];
}

/**
 * socket.io's Redis adapter, so that socket.io broadcasts and fetchSockets() span the nodes.
 * Its own connections queue while Redis is away rather than fail (nothing here broadcasts
 * on the hot path; Parley's events go through the hub).
 */
export function socketIoRedis(redisUrl: string, prefix: string): SocketIoRedis {
  const options = {
    maxRetriesPerRequest: null,
    retryStrategy: (n: number) => Math.min(50 * n, 1000),
  };
  const pub = new Redis(redisUrl, { ...options, connectionName: 'parley-sio-pub' });
  const sub = new Redis(redisUrl, { ...options, connectionName: 'parley-sio-sub' });
  for (const r of [pub, sub]) r.on('error', () => undefined); // the cmd connection logs outages
  return {
    adapter: createAdapter(pub, sub, { key: `${prefix}:socket.io` }),
    connections: [pub, sub],
  };
}
