export { signalTarget, type SignalView } from './route.ts';
export { EarlyIceBuffer } from './ice-buffer.ts';
export { RingingHold } from './ringing-hold.ts';
