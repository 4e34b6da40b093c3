export { MemoryDirectory, type PresenceDirectory, type PresenceEntry } from './directory.ts';
