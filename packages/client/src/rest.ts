import type {
  CallRecord,
  ErrorCode,
  IceServer,
  MeetingInfo,
  MeetingParticipant,
} from '@parley/protocol';
import { ParleyError } from './errors.ts';

/** An online user (`GET /api/presence`). */
export interface OnlineUser {
  userId: string;
  name: string;
  /** How many devices the user is connected from. */
  devices: number;
}

/** A page of call history, newest first (`GET /api/calls`). */
export interface CallHistoryPage {
  records: CallRecord[];
  /** Cursor of the next page, or null on the last one. */
  next: string | null;
}

/** A dev sign-in (`POST /api/dev/token`, only on servers that enable it). */
export interface DevToken {
  token: string;
  userId: string;
  name: string;
}

/** The `{code, message, data | error}` envelope of every REST answer. */
interface Envelope<T> {
  code: number;
  message: string;
  data?: T;
  error?: ErrorCode;
}

async function call<T>(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit & { token?: string } = {},
): Promise<T> {
  const { token, ...rest } = init;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetchFn(url, { ...rest, headers });
  let body: Envelope<T>;
  try {
    body = (await res.json()) as Envelope<T>;
  } catch {
    throw new ParleyError('internal', `${url}: HTTP ${res.status} without a JSON body`);
  }
  if (!res.ok || body.code !== 0) {
    throw new ParleyError(body.error ?? 'internal', body.message, { status: res.status });
  }
  return body.data as T;
}

/**
 * Signs in on a server with dev sign-in enabled: any user id, no password. Fails with
 * `not_found` when the server does not offer it (production servers never do by default).
 */
export function devSignIn(
  httpUrl: string,
  userId: string,
  name?: string,
  fetchFn: typeof fetch = fetch,
): Promise<DevToken> {
  return call(fetchFn, `${httpUrl}/api/dev/token`, {
    method: 'POST',
    body: JSON.stringify(name ? { userId, name } : { userId }),
  });
}

/** Parley's REST API for the signed-in user. */
export class RestApi {
  constructor(
    private readonly httpUrl: string,
    private readonly token: () => string | Promise<string>,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /**
   * Who is online now that this user may see (the server decides whom; see the README's
   * `PARLEY_PRESENCE_SCOPE`), by nickname: every page of `GET /api/presence`.
   */
  async presence(): Promise<OnlineUser[]> {
    const users: OnlineUser[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page: { users: OnlineUser[]; next: string | null } = await this.get(
        `/api/presence?limit=500${q}`,
      );
      users.push(...page.users);
      cursor = page.next ?? null;
    } while (cursor);
    return users;
  }

  /** The user's finished calls, newest first. */
  history(limit = 20, cursor?: string): Promise<CallHistoryPage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.get(`/api/calls?${q.toString()}`);
  }

  /** ICE servers for 1:1 calls. */
  async iceServers(): Promise<IceServer[]> {
    return (await this.get<{ iceServers: IceServer[] }>('/api/media-config')).iceServers;
  }

  /** Creates a meeting hosted by the user. */
  createMeeting(title?: string): Promise<MeetingInfo> {
    return this.post('/api/meetings', title ? { title } : {});
  }

  /** A meeting and who is in it. */
  meeting(meetingId: string): Promise<MeetingInfo & { participants: MeetingParticipant[] }> {
    return this.get(`/api/meetings/${encodeURIComponent(meetingId)}`);
  }

  /** Enters a meeting (needed before its media can be joined). */
  joinMeeting(meetingId: string, nickname?: string): Promise<MeetingParticipant> {
    return this.post(
      `/api/meetings/${encodeURIComponent(meetingId)}/join`,
      nickname ? { nickname } : {},
    );
  }

  /** Leaves a meeting. */
  leaveMeeting(meetingId: string): Promise<{ meetingId: string; leftAt: string }> {
    return this.post(`/api/meetings/${encodeURIComponent(meetingId)}/leave`, {});
  }

  /** Ends a meeting (host only). */
  endMeeting(meetingId: string): Promise<{ meetingId: string; endedBy: string; endedAt: string }> {
    return this.post(`/api/meetings/${encodeURIComponent(meetingId)}/end`, {});
  }

  /** ICE servers for a meeting the user is in. */
  async meetingIceServers(meetingId: string): Promise<IceServer[]> {
    const path = `/api/meetings/${encodeURIComponent(meetingId)}/media-config`;
    return (await this.get<{ iceServers: IceServer[] }>(path)).iceServers;
  }

  private async get<T>(path: string): Promise<T> {
    return call(this.fetchFn, `${this.httpUrl}${path}`, { token: await this.token() });
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    return call(this.fetchFn, `${this.httpUrl}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      token: await this.token(),
    });
  }
}
