import type { CallRecord, EndReason, Media } from '@parley/protocol';

/** What the engine hands the store when a call starts. */
export interface CallStart {
  callId: string;
  caller: string;
  callerDevice: string;
  callee: string;
  media: Media;
  createdAt: number;
  ownerNode: string;
}

/** What the engine hands the store when a call ends. */
export interface CallEnd {
  callId: string;
  reason: EndReason;
  acceptedAt: number | null;
  endedAt: number;
  ringMs: number;
  answeredDevice: string | null;
  answeredClientType: string | null;
  /** What the parties reported of their media (see `media`); null: nothing (yet). */
  mediaConnectedAt: number | null;
  mediaFailedReason: string | null;
}

/** How the store's writes are going, for health and metrics. */
export interface WriteStatus {
  /** False while writes fail and are being retried. */
  up: boolean;
  /** Writes waiting for the store. */
  pending: number;
  /** Why the last attempt failed, while `up` is false. */
  reason: string | null;
  /** Since when (epoch ms) writes have been failing, while `up` is false. */
  downSince: number | null;
}

/** A page of history, newest first; `next` is the cursor for the following page. */
export interface RecordPage {
  records: CallRecord[];
  next: string | null;
}

/**
 * The call detail records as the engine writes them, at each transition of a call. The writes
 * are queued: one the store refuses for a while is retried until it is taken.
 */
export interface CallRecordWriter {
  /** The row for a new call (status 0). */
  created(c: CallStart): Promise<void>;
  /** The call was answered (status 1). */
  accepted(start: CallStart, at: number, device: string, clientType: string): Promise<void>;
  /** What the parties reported of the media of an answered call. */
  media(
    start: CallStart,
    answer: { at: number; device: string; clientType: string },
    report: { connectedAt: number | null; failedReason: string | null },
  ): Promise<void>;
  /** The end of a call; resolves to the record as clients receive it once the row is stored. */
  ended(start: CallStart, e: CallEnd): Promise<CallRecord>;
  writeStatus(): WriteStatus;
}

/** A user's call history, as the REST API reads it. */
export interface CallHistory {
  /** The user's ended calls, newest first, `limit` at a time from `cursor`. */
  list(userId: string, limit: number, cursor?: string): Promise<RecordPage>;
  /** One ended call of the user's, or undefined (not theirs, not ended, or unknown). */
  get(callId: string, userId: string): Promise<CallRecord | undefined>;
}
