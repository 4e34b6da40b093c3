export { MemoryDirectory } from './directory.ts';
export {
  PresenceRouting,
  type DeviceHooks,
  type PresenceRoutingOptions,
  type SpreadHooks,
} from './routing.ts';
export type { PresenceDirectory, PresenceEntry } from '../core/index.ts';
