import type { CallPhase } from '@parley/protocol';
import type { CallStart } from './call-records.ts';

/** What other nodes know of a live call: enough for busy checks, glare and selectors. */
export interface CallSummary {
  readonly callId: string;
  readonly caller: string;
  readonly callee: string;
  readonly phase: CallPhase;
}

/**
 * The cluster-wide user → live calls index (busy checks, glare, selectors without a call id),
 * kept by each call's owner (Redis in a cluster).
 */
export interface CallIndex {
  /** Adds or updates a call under both of its users; with `start`, also in its owner's list. */
  put(s: CallSummary, start?: CallStart): void;
  /** Removes calls from the index and their owners' lists. */
  drop(calls: ReadonlyArray<Pick<CallSummary, 'callId' | 'caller' | 'callee'>>): Promise<void>;
  /** The live calls of a user on every live node. Rejects when the index cannot be reached. */
  of(userId: string): Promise<CallSummary[]>;
}
