export { signalTarget, type SignalView } from './route.ts';
export { EarlyIceBuffer } from './ice-buffer.ts';
