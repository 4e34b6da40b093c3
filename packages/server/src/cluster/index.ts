export { MemoryBus, type Bus, type BusMessage } from './bus.ts';
