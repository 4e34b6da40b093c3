export { signalTarget, type SignalView } from './route.ts';
export { EarlyIceBuffer } from './ice-buffer.ts';
export { RingingHold } from './ringing-hold.ts';
export { RelayRoute, type RouteView, type SignalDelivery, type HeldIce } from './relay-route.ts';
export { SignalRelay, type SignalRelayOptions } from './signal-relay.ts';
