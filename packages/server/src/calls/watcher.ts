import type { CallState } from './state.ts';

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
