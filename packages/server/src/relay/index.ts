export { signalTarget } from './route.ts';
export { EarlyIceBuffer } from './ice-buffer.ts';
