export { MemoryBus } from './memory-bus.ts';
export { MemoryUserPeers } from './memory-user-peers.ts';
export { localPlacement } from './local-placement.ts';
export { ClusterNode, type ClusterOptions, type JanitorParts } from './node.ts';
export { RedisUnavailableError, deletePrefix } from './redis.ts';
