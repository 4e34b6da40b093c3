import type { DeviceRef, ServerEvent } from '@parley/protocol';
import type { ClientInfo } from '../observability/client-address.ts';
import type { CallState } from './state.ts';

/** How core hands events to devices; the gateway's Hub implements it (locally or over the bus). */
export interface Delivery {
  /** One device, wherever it is connected. */
  toDevice(to: DeviceRef, event: ServerEvent): void;
  /** Every device of a user, on every node. */
  toUser(userId: string, event: ServerEvent): Promise<void>;
}

/** The authenticated sender of a command: a device and who its user is. */
export interface Sender extends DeviceRef {
  name: string;
  grants: readonly string[];
  /** User agent and address captured at connect, for the call event logs (absent: unknown). */
  client?: ClientInfo;
}

/** Time, injected so that tests and the machine never read the wall clock themselves. */
export type Clock = () => number;

/**
 * Told of each call's lifecycle on the node that runs it, synchronously and before the
 * transition's events go out (cluster mode keeps its call index and relay routes with it).
 */
export interface CallWatcher {
  started(s: CallState): void;
  /** `offerRelayed`: the caller's offer held while ringing goes to the answering device now. */
  accepted(s: CallState, offerRelayed: boolean): void;
  ended(s: CallState): void;
}
