/** The events Parley announces to webhook endpoints. */
export const WEBHOOK_EVENTS = [
  'call.ringing',
  'call.accepted',
  'call.ended',
  'meeting.started',
  'meeting.ended',
  'participant.joined',
  'participant.left',
  'user.online',
  'user.offline',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/**
 * An event as the store writes it into the outbox: `stream` orders it (events of one stream
 * are delivered in the order they were written: one per call, meeting or user).
 */
export interface WebhookEvent {
  type: WebhookEventType;
  stream: string;
  /** When it happened (epoch ms): the body's `timestamp`. */
  at: number;
  data: Record<string, unknown>;
}

/** An event waiting in the outbox for one endpoint. */
export interface OutboxEntry {
  id: number;
  endpoint: string;
  /** The `webhook-id`: the same at every attempt (the receiver's idempotency key). */
  msgId: string;
  type: string;
  stream: string;
  /** The exact body sent. */
  payload: string;
  createdAt: number;
  attempts: number;
}

/** A dead letter: an event given up on after retrying for `webhooks.giveUpAfterMs`. */
export interface DeadLetter {
  id: number;
  endpoint: string;
  msgId: string;
  type: string;
  createdAt: string;
  attempts: number;
  lastError: string | null;
  deadAt: string | null;
  /** The body as it was (and will be, if replayed) sent. */
  payload: string;
}

/** How far behind an endpoint's deliveries are. */
export interface OutboxDepth {
  pending: number;
  /** Epoch ms of the oldest pending event, or null. */
  oldest: number | null;
}

/** The outbox as the deliverers read and update it (the store writes it with the changes). */
export interface WebhookOutbox {
  /**
   * Up to `limit` events due at `now` for `endpoint`, each the oldest pending of its stream
   * (so that a stream's next event waits for the one before it), oldest first.
   */
  due(endpoint: string, now: number, limit: number): Promise<OutboxEntry[]>;
  /** Delivered: the events of `ids`. */
  sent(ids: readonly number[], at: number): Promise<void>;
  /** A failed attempt: the next one at `nextAt`. */
  retry(id: number, attempts: number, nextAt: number, error: string): Promise<void>;
  /** Given up: dead-lettered. */
  dead(id: number, attempts: number, at: number, error: string): Promise<void>;
  /** Dead letters, oldest first, after `afterId`. */
  deadLetters(o: { endpoint?: string; afterId?: number; limit: number }): Promise<DeadLetter[]>;
  /** Makes dead letters pending again (all of them, or the given ones); returns how many. */
  replay(o: { endpoint?: string; ids?: readonly number[]; now: number }): Promise<number>;
  depth(endpoint: string): Promise<OutboxDepth>;
  /** Forgets events delivered before `before`; returns how many. */
  prune(before: number): Promise<number>;
}
