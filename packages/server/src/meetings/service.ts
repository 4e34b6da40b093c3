import type { MeetingInfo, MeetingParticipant } from '@parley/protocol';
import { randomUUID } from 'node:crypto';
import { AppError } from '@parley/protocol';
import type { Identity } from '../auth/index.ts';
import type { Clock, MeetingRecords } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import { iceServers, type IceServer } from './ice.ts';
import { notFound } from './errors.ts';
import type { RtcService } from './rtc.ts';

/** The longest nickname, in characters (the store's column width). */
export const NICKNAME_MAX_LENGTH = 64;

/** What the meeting service needs. */
export interface MeetingServiceOptions {
  store: MeetingRecords;
  /** Where leaving and ending reach the media rooms (in a cluster, every node's). */
  rtc: Pick<RtcService, 'userLeft' | 'ended'>;
  ice: Config['ice'];
  caps: Pick<Config['caps'], 'liveMeetingsPerUser'>;
  log: Logger;
  clock?: Clock;
}

/** A meeting with the people in it now. */
export interface MeetingView extends MeetingInfo {
  participants: MeetingParticipant[];
}

/**
 * Meetings (REQ-002): create, look up, join, leave, end, and the ICE servers of a participant.
 * Leaving and ending reach into the media rooms through the rtc service.
 */
export class MeetingService {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Per host, the tail of its creations: counted and inserted one at a time (the cap holds). */
  private readonly creating = new Map<string, Promise<unknown>>();

  constructor(private readonly o: MeetingServiceOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.log.child({ mod: 'meetings' });
  }

  /** A new meeting hosted by `who`, unless they host `caps.liveMeetingsPerUser` already. */
  async create(who: Identity, title: string | null): Promise<MeetingInfo> {
    const meeting = await this.oneAtATime(who.userId, async () => {
      const max = this.o.caps.liveMeetingsPerUser;
      if ((await this.o.store.liveHostedBy(who.userId)) >= max) {
        throw AppError.limitExceeded(
          `at most ${max} meetings of one host may be live; end one first`,
          'liveMeetingsPerUser',
          max,
        );
      }
      return this.o.store.create({
        meetingId: randomUUID(),
        title,
        hostId: who.userId,
        at: this.clock(),
      });
    });
    this.log.info(
      { event: 'meeting_created', meetingId: meeting.meetingId, host: who.userId },
      'meeting created',
    );
    return meeting;
  }

  /** The meeting and who is in it (any signed-in user who knows its id). */
  async get(meetingId: string): Promise<MeetingView> {
    const meeting = await this.meeting(meetingId);
    return { ...meeting, participants: await this.o.store.participants(meetingId) };
  }

  /** Enters the meeting (idempotent); the host joins as `host`. */
  async join(
    who: Identity,
    meetingId: string,
    nickname: string | undefined,
  ): Promise<MeetingParticipant> {
    const meeting = await this.active(meetingId);
    const participant = await this.o.store.join({
      meetingId,
      userId: who.userId,
      nickname: nickname ?? defaultNickname(who.name),
      role: meeting.hostId === who.userId ? 'host' : 'participant',
      at: this.clock(),
    });
    this.log.info({ event: 'meeting_joined', meetingId, userId: who.userId }, 'joined meeting');
    return participant;
  }

  /**
   * An administrator removes `userId` from the meeting: as if they left (their peers hear
   * rtc:left); they may join again unless their token is revoked.
   */
  async remove(meetingId: string, userId: string): Promise<{ meetingId: string; leftAt: string }> {
    await this.active(meetingId);
    const at = this.clock();
    if (!(await this.o.store.leave(meetingId, userId, at))) throw AppError.notFound('participant');
    await this.o.rtc.userLeft(meetingId, userId);
    this.log.info({ event: 'meeting_removed', meetingId, userId }, 'removed from meeting');
    return { meetingId, leftAt: new Date(at).toISOString() };
  }

  /** The active meetings and who is in them, a page at a time (the admin API). */
  live(limit: number, after?: number) {
    return this.o.store.live(limit, after);
  }

  /** Leaves the meeting; the user's peers leave its media room. */
  async leave(who: Identity, meetingId: string): Promise<{ meetingId: string; leftAt: string }> {
    await this.active(meetingId);
    const at = this.clock();
    if (!(await this.o.store.leave(meetingId, who.userId, at))) {
      throw AppError.forbidden('not a participant of this meeting');
    }
    await this.o.rtc.userLeft(meetingId, who.userId);
    this.log.info({ event: 'meeting_left', meetingId, userId: who.userId }, 'left meeting');
    return { meetingId, leftAt: new Date(at).toISOString() };
  }

  /**
   * Ends the meeting (the host, or an administrator with `asAdmin`): everyone leaves, peers hear
   * rtc:meetingEnded, media closes.
   */
  async end(
    who: Identity,
    meetingId: string,
    asAdmin = false,
  ): Promise<{ meetingId: string; endedBy: string; endedAt: string }> {
    const meeting = await this.active(meetingId);
    if (meeting.hostId !== who.userId && !asAdmin)
      throw AppError.forbidden('only the host may end a meeting');
    const at = this.clock();
    if (!(await this.o.store.end(meetingId, who.userId, at))) {
      throw AppError.meetingEnded(meetingId);
    }
    const endedAt = new Date(at).toISOString();
    await this.o.rtc.ended(meetingId, who.userId, endedAt);
    this.log.info({ event: 'meeting_ended', meetingId, by: who.userId }, 'meeting ended');
    return { meetingId, endedBy: who.userId, endedAt };
  }

  /** The ICE servers (with ephemeral TURN credentials) for a participant of an active meeting. */
  async mediaConfig(who: Identity, meetingId: string): Promise<{ iceServers: IceServer[] }> {
    await this.active(meetingId);
    if (!(await this.o.store.participation(meetingId, who.userId))) {
      throw AppError.forbidden('not a participant of this meeting');
    }
    return { iceServers: iceServers(this.o.ice, who.userId, this.clock()) };
  }

  /** Runs `job` after the host's earlier ones; forgets the host when its queue drains. */
  private oneAtATime<T>(hostId: string, job: () => Promise<T>): Promise<T> {
    const result = (this.creating.get(hostId) ?? Promise.resolve()).then(job);
    const tail = result.catch(() => undefined);
    this.creating.set(hostId, tail);
    void tail.then(() => {
      if (this.creating.get(hostId) === tail) this.creating.delete(hostId);
    });
    return result;
  }

  private async meeting(meetingId: string): Promise<MeetingInfo> {
    const meeting = await this.o.store.get(meetingId);
    if (!meeting) throw notFound('meeting', meetingId);
    return meeting;
  }

  private async active(meetingId: string): Promise<MeetingInfo> {
    const meeting = await this.meeting(meetingId);
    if (meeting.status === 'ended') throw AppError.meetingEnded(meetingId);
    return meeting;
  }
}

/** The token's name as a nickname: its first 64 characters (the column's width). */
function defaultNickname(name: string): string {
  const chars = [...name];
  return chars.length <= NICKNAME_MAX_LENGTH ? name : chars.slice(0, NICKNAME_MAX_LENGTH).join('');
}
