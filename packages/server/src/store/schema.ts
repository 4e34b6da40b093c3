import type { Generated } from 'kysely';

/**
 * `call_records`: the columns of specs/chat-protobuf.md (id … updated_at) plus what Parley
 * adds: the call id, end reason, media, answering device and ring time.
 * Times are ISO-8601 strings in SQLite and timestamptz in PostgreSQL; the repository returns
 * ISO strings for both.
 */
export interface CallRecordsTable {
  id: Generated<number>;
  call_id: string;
  caller_id: string;
  callee_id: string;
  /** 1 = audio, 2 = video (spec). */
  call_type: number;
  /** 0 = invite, 1 = accept, 2 = reject, 3 = hangup (spec); see docs/protocol.md. */
  status: number;
  start_time: string | null;
  end_time: string | null;
  /** Seconds between answer and end. */
  duration: number;
  created_at: string;
  updated_at: string;
  media: string;
  end_reason: string | null;
  caller_device: string;
  answered_device: string | null;
  answered_client_type: string | null;
  ring_ms: number | null;
  /** The node that owns the call while it is live (cluster janitor). */
  owner_node: string;
  /** When a party's device reported its media connected (`call:media`). */
  media_connected_at: string | null;
  /** Why a party's device reported its media failed, while none connected. */
  media_failed_reason: string | null;
}

/** `meetings`: one row per meeting (REQ-002). Times as in call_records. */
export interface MeetingsTable {
  id: Generated<number>;
  /** UUID. */
  meeting_id: string;
  title: string | null;
  /** The creator; the only user who may end the meeting. */
  host_id: string;
  /** `active` or `ended`. */
  status: string;
  created_at: string;
  ended_at: string | null;
  ended_by: string | null;
}

/**
 * `meeting_participants`: one row per stay of a user in a meeting, from its REST join to its
 * leave (REST leave, meeting end, or the signaling connection dropping). At most one open row
 * (left_at null) per meeting and user.
 */
export interface MeetingParticipantsTable {
  id: Generated<number>;
  meeting_id: string;
  user_id: string;
  nickname: string;
  /** `host` or `participant`. */
  role: string;
  joined_at: string;
  left_at: string | null;
}

/**
 * `node_last_seen`: each node's last sign of life, touched every few seconds; a node restarted
 * after a kill -9 ends what the previous run left open at that time.
 */
export interface NodeLastSeenTable {
  node_id: string;
  seen_at: string;
}

/**
 * `token_revocations`: `kind` `jti` (subject: the token id; at_ms: when it expires, after which
 * the row may go) or `user` (subject: the user id; at_ms: their tokens issued before it are
 * revoked). One row per subject: a later revocation of the same one replaces it.
 */
export interface TokenRevocationsTable {
  kind: string;
  subject: string;
  /** Epoch ms; PostgreSQL's bigint comes back as a string. */
  at_ms: number | string;
  created_at: string;
}

/**
 * `webhook_outbox`: one row per webhook event and endpoint, inserted in the transaction of the
 * change it announces; `pending` until the endpoint took it (`sent`) or it was given up on
 * (`dead`, replayable).
 */
export interface WebhookOutboxTable {
  id: Generated<number>;
  endpoint: string;
  /** The `webhook-id` header. */
  msg_id: string;
  type: string;
  /** Events of one stream (a call, a meeting, a user) are delivered in id order. */
  stream: string;
  /** The exact body. */
  payload: string;
  created_at: string;
  status: string;
  attempts: number;
  next_at: string;
  last_error: string | null;
  done_at: string | null;
}

/** The database as Kysely sees it. */
export interface Database {
  call_records: CallRecordsTable;
  meetings: MeetingsTable;
  meeting_participants: MeetingParticipantsTable;
  node_last_seen: NodeLastSeenTable;
  token_revocations: TokenRevocationsTable;
  webhook_outbox: WebhookOutboxTable;
}
