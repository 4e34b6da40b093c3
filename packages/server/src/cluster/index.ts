export { MemoryBus } from './memory-bus.ts';
export { localPlacement } from './local-placement.ts';
export { ClusterNode, type ClusterOptions, type JanitorParts } from './node.ts';
export { RedisUnavailableError, deletePrefix } from './redis.ts';
