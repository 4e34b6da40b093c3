import type { MeetingInfo, MeetingParticipant } from '@parley/protocol';

/** The meetings and their participants' stays, as the meetings domain keeps them. */
export interface MeetingRecords {
  /** Inserts a new active meeting. */
  create(m: {
    meetingId: string;
    title: string | null;
    hostId: string;
    at: number;
  }): Promise<MeetingInfo>;
  /** How many meetings `hostId` hosts that have not ended (for the per-user cap). */
  liveHostedBy(hostId: string): Promise<number>;
  /** The meeting, or undefined. */
  get(meetingId: string): Promise<MeetingInfo | undefined>;
  /** Everyone in the meeting now (open stays), in joining order. */
  participants(meetingId: string): Promise<MeetingParticipant[]>;
  /** The user's open stay in the meeting, or undefined when the user is not in it. */
  participation(meetingId: string, userId: string): Promise<MeetingParticipant | undefined>;
  /** Opens a stay; a user already in the meeting keeps the stay it has (idempotent join). */
  join(p: {
    meetingId: string;
    userId: string;
    nickname: string;
    role: MeetingParticipant['role'];
    at: number;
  }): Promise<MeetingParticipant>;
  /** Closes the user's open stay; false when there was none. */
  leave(meetingId: string, userId: string, at: number): Promise<boolean>;
  /**
   * Closes the user's open stay when nobody waits for the answer (the connection dropped):
   * retried until the store takes it, so that a store that is slow or down holds up no meeting.
   */
  left(meetingId: string, userId: string, at: number): Promise<void>;
  /** Ends an active meeting and closes every open stay; false when it had already ended. */
  end(meetingId: string, endedBy: string, at: number): Promise<boolean>;
  /**
   * The active meetings, oldest first, `limit` at a time after the cursor `after` (the
   * previous page's `next`), each with the people in it now.
   */
  live(
    limit: number,
    after?: number,
  ): Promise<{
    meetings: Array<MeetingInfo & { participants: MeetingParticipant[] }>;
    next: number | null;
  }>;
}
