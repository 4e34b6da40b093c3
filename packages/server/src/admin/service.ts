import { AppError, ErrorCode } from '@parley/protocol';
import type { Identity } from '../auth/index.ts';
import type { AdminOp, AdminPeers, AdminResults, Placement, Revocation } from '../core/index.ts';
import type { MeetingService } from '../meetings/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import type { AdminLocal } from './local.ts';
import { pageOf, type PageRequest } from './paging.ts';
import type { Revoker } from './revoker.ts';

/** What the admin service works with. */
export interface AdminServiceOptions {
  nodeId: string;
  local: AdminLocal;
  /** The other nodes (cluster mode); null on a single node. */
  peers: AdminPeers | null;
  placement: Pick<Placement, 'callOwner'>;
  /**
   * The nodes holding a meeting's media: one, or every node serving its peers when a meeting
   * spans the cluster.
   */
  meetingNodes: (meetingId: string) => Promise<string[]>;
  directory: PresenceDirectory;
  meetings: Pick<MeetingService, 'live' | 'get' | 'end' | 'remove'>;
  revoker: Pick<Revoker, 'revoke'>;
}

/**
 * The admin API's work, cluster-wide: lists gathered from every node (calls) or from the
 * shared directory and store (users, meetings), actions run on the node that holds their call,
 * device or media room.
 */
export class AdminService {
  constructor(private readonly o: AdminServiceOptions) {}

  /**
   * Live calls on every node, oldest first. A node that does not answer is named in
   * `unreachable` rather than failing the list: its calls are missing from this page.
   */
  async calls(page: PageRequest) {
    const nodes = this.nodes();
    const answers = await Promise.allSettled(nodes.map((n) => this.on(n, { op: 'calls' })));
    const unreachable = nodes.filter((_, i) => answers[i]!.status === 'rejected');
    const all = answers.flatMap((a) => (a.status === 'fulfilled' ? a.value : []));
    const { items, next } = pageOf(all, (c) => [c.createdAt, c.callId], 2, page);
    return { calls: items, next, unreachable };
  }

  /** Ends a live call with reason `admin`, on the node that owns it. */
  async endCall(callId: string) {
    const owner = this.o.placement.callOwner(callId);
    // A call of a node that is gone has ended (its janitor or restart ended it).
    if (!this.nodes().includes(owner)) throw AppError.notFound('call');
    return this.on(owner, { op: 'end-call', callId });
  }

  /** Online users by id, each with their devices and the node each is connected to. */
  async users(page: PageRequest) {
    const { items, next } = pageOf(await this.o.directory.users(), (u) => [u.userId], 1, page);
    const users = await Promise.all(
      items.map(async (u) => ({
        userId: u.userId,
        name: u.name,
        devices: (await this.o.directory.devices(u.userId)).map((d) => ({
          deviceId: d.deviceId,
          clientType: d.clientType,
          node: d.nodeId,
          connectedAt: new Date(d.since).toISOString(),
        })),
      })),
    );
    return { users, next };
  }

  /**
   * Disconnects one device of a user (WebSocket close 4012), on the node it is connected to;
   * a meeting-only connection is not in the directory, so every node is asked for it.
   */
  async disconnect(userId: string, deviceId: string) {
    const entry = (await this.o.directory.devices(userId)).find((d) => d.deviceId === deviceId);
    const nodes = entry ? [entry.nodeId] : this.nodes();
    const results = await Promise.all(nodes.map((n) => this.on(n, { op: 'disconnect', deviceId })));
    if (!results.some((r) => r.disconnected)) throw AppError.notFound('device');
    return { userId, deviceId, disconnected: true };
  }

  /** Active meetings and who is in them (the store is shared by every node). */
  async meetings(page: PageRequest) {
    const after = page.cursor === undefined ? undefined : Number(page.cursor);
    if (after !== undefined && !Number.isSafeInteger(after)) {
      throw AppError.badRequest('cursor is not one this server gave');
    }
    const { meetings, next } = await this.o.meetings.live(page.limit, after);
    return { meetings, next: next === null ? null : String(next) };
  }

  /** A meeting, its participants, and the media peers of every node holding its media. */
  async meeting(meetingId: string) {
    const view = await this.o.meetings.get(meetingId);
    const nodes = await this.o.meetingNodes(meetingId);
    const media = await Promise.all(nodes.map((n) => this.on(n, { op: 'media', meetingId })));
    return { ...view, peers: media.flatMap((m) => m.peers) };
  }

  /** Ends a meeting as its host could. */
  endMeeting(admin: Identity, meetingId: string) {
    return this.o.meetings.end(admin, meetingId, true);
  }

  /** Removes a participant from a meeting (their peers hear rtc:left). */
  removeParticipant(meetingId: string, userId: string) {
    return this.o.meetings.remove(meetingId, userId);
  }

  /**
   * Pauses a producer server-side; its owner may resume it only with `allowUnmute`. Runs on
   * the node of the producer's peer: the one of the meeting's nodes that has it.
   */
  async mute(meetingId: string, producerId: string, allowUnmute: boolean) {
    const op = { op: 'mute', meetingId, producerId, allowUnmute } as const;
    let missing: unknown = AppError.notFound('producer');
    for (const node of await this.o.meetingNodes(meetingId)) {
      try {
        return await this.on(node, op);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== ErrorCode.NotFound) throw err;
        missing = err;
      }
    }
    throw missing;
  }

  /** Revokes tokens on every node (see Revoker). */
  revoke(r: Revocation) {
    return this.o.revoker.revoke(r);
  }

  private nodes(): string[] {
    return this.o.peers?.nodes() ?? [this.o.nodeId];
  }

  private on<O extends AdminOp>(nodeId: string, op: O): Promise<AdminResults[O['op']]> {
    if (nodeId === this.o.nodeId || !this.o.peers) return this.o.local.run(op);
    return this.o.peers.ask(nodeId, op);
  }
}
