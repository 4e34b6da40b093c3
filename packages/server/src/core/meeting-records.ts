/** A meeting as the REST API shows it. */
export interface Meeting {
  meetingId: string;
  title: string | null;
  hostId: string;
  status: 'active' | 'ended';
  /** ISO times. */
  createdAt: string;
  endedAt: string | null;
  endedBy: string | null;
}

/** One stay of a user in a meeting. */
export interface Participant {
  meetingId: string;
  userId: string;
  nickname: string;
  role: 'host' | 'participant';
  /** ISO times; `leftAt` is null while the user is in the meeting. */
  joinedAt: string;
  leftAt: string | null;
}

/** The meetings and their participants' stays, as the meetings domain keeps them. */
export interface MeetingRecords {
  /** Inserts a new active meeting. */
  create(m: {
    meetingId: string;
    title: string | null;
    hostId: string;
    at: number;
  }): Promise<Meeting>;
  /** How many meetings `hostId` hosts that have not ended (for the per-user cap). */
  liveHostedBy(hostId: string): Promise<number>;
  /** The meeting, or undefined. */
  get(meetingId: string): Promise<Meeting | undefined>;
  /** Everyone in the meeting now (open stays), in joining order. */
  participants(meetingId: string): Promise<Participant[]>;
  /** The user's open stay in the meeting, or undefined when the user is not in it. */
  participation(meetingId: string, userId: string): Promise<Participant | undefined>;
  /** Opens a stay; a user already in the meeting keeps the stay it has (idempotent join). */
  join(p: {
    meetingId: string;
    userId: string;
    nickname: string;
    role: Participant['role'];
    at: number;
  }): Promise<Participant>;
  /** Closes the user's open stay; false when there was none. */
  leave(meetingId: string, userId: string, at: number): Promise<boolean>;
  /**
   * Closes the user's open stay when nobody waits for the answer (the connection dropped):
   * retried until the store takes it, so that a store that is slow or down holds up no meeting.
   */
  left(meetingId: string, userId: string, at: number): Promise<void>;
  /** Ends an active meeting and closes every open stay; false when it had already ended. */
  end(meetingId: string, endedBy: string, at: number): Promise<boolean>;
}
