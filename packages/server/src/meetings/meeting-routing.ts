import type { RtcCommand } from '@parley/protocol';
import type {
  BusRequest,
  BusRoutes,
  Delivery,
  MeetingSpanPort,
  Placement,
  Requests,
  Sender,
} from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import type { RtcService } from './rtc.ts';

/**
 * Meetings across the nodes: rtc:* commands run on the node holding the meeting's media
 * room, REST's leave and end reach it too, and this node remembers which of its devices are
 * in meetings held elsewhere (those nodes hear when such a device goes; the device hears when
 * one of them dies). When meetings span the nodes (`span`), rtc:* commands run where they
 * arrive, and REST's leave and end reach every node serving the meeting. A device whose session
 * moved here from another node (a resume) keeps its peers where they are: its rtc:* for those
 * meetings run there, and those nodes hear when it goes.
 */
export class MeetingRouting {
  /** deviceId → the device and meetingId → the node holding that meeting. */
  private readonly remote = new Map<string, { device: Sender; meetings: Map<string, string> }>();

  constructor(
    private readonly nodeId: string,
    private readonly placement: Placement,
    private readonly rpc: Requests,
    private readonly log: Logger,
    private readonly span: MeetingSpanPort | null = null,
  ) {}

  /**
   * Runs an rtc:* command on the node that holds the meeting's media room (`here` when that
   * is this node). A join claims a meeting nobody live holds for this node. When meetings span
   * the nodes, that is this node, unless the device's peer is on the node its session came from.
   */
  async run(
    rtc: Pick<RtcService, 'has'>,
    here: (sender: Sender, c: RtcCommand) => unknown,
    sender: Sender,
    c: RtcCommand,
  ): Promise<unknown> {
    const node = this.span
      ? (this.remote.get(sender.deviceId)?.meetings.get(c.meetingId) ?? this.nodeId)
      : rtc.has(c.meetingId)
        ? this.nodeId
        : await this.placement.meetingNode(c.meetingId, c.type === 'rtc:join');
    if (node === this.nodeId) return here(sender, c);
    this.held(sender, c.meetingId, node);
    const reply = await this.rpc.request(node, sender, c);
    // Its peer there is gone: a meeting spanning the nodes serves its next join here.
    if (this.span && c.type === 'rtc:leave')
      this.remote.get(sender.deviceId)?.meetings.delete(c.meetingId);
    return reply;
  }

  /**
   * The device's session leaves this node for another (a resume there): where its peers are,
   * meetingId → node (this node's own, and those held elsewhere), for the new node to reach
   * them. This node no longer speaks for the device.
   */
  handOff(rtc: Pick<RtcService, 'meetingsOf'>, deviceId: string): Record<string, string> {
    const peers = Object.fromEntries(this.remote.get(deviceId)?.meetings ?? []);
    this.remote.delete(deviceId);
    for (const meetingId of rtc.meetingsOf(deviceId)) peers[meetingId] = this.nodeId;
    return peers;
  }

  /** The device's session came here from another node, with where its peers are (handOff). */
  adopt(device: Sender, peers: Record<string, string>): void {
    for (const [meetingId, node] of Object.entries(peers)) {
      if (node !== this.nodeId) this.held(device, meetingId, node);
    }
  }

  /** The device has a peer in the meeting on another node. */
  private held(device: Sender, meetingId: string, node: string): void {
    let entry = this.remote.get(device.deviceId);
    if (!entry) this.remote.set(device.deviceId, (entry = { device, meetings: new Map() }));
    entry.meetings.set(meetingId, node);
  }

  /** The device left: the nodes holding its meetings elsewhere, which must hear of it. */
  take(deviceId: string): Set<string> {
    const entry = this.remote.get(deviceId);
    this.remote.delete(deviceId);
    return new Set(entry?.meetings.values());
  }

  /**
   * A node died with the media rooms it held: the devices here in those meetings hear
   * rtc:mediaReset, as when an SFU worker dies, and rejoin (which opens the room on a live
   * node).
   */
  nodeLost(hub: Pick<Delivery, 'toDevice'>, dead: string): void {
    for (const { device, meetings } of this.remote.values()) {
      for (const [meetingId, node] of meetings) {
        if (node !== dead) continue;
        meetings.delete(meetingId);
        hub.toDevice(device, { type: 'rtc:mediaReset', meetingId, reason: 'node_lost' });
      }
    }
  }

  /**
   * What the REST meeting service calls to leave and end meetings: runs here, and on the node
   * that holds the meeting's media room when that is another (on every node serving it, when
   * meetings span the nodes).
   */
  forRest(rtc: Pick<RtcService, 'userLeft' | 'ended'>): Pick<RtcService, 'userLeft' | 'ended'> {
    return {
      userLeft: async (meetingId, userId) => {
        await rtc.userLeft(meetingId, userId);
        await this.toHolders(meetingId, (corr, replyTo) => ({
          kind: 'meeting-left',
          corr,
          replyTo,
          meetingId,
          userId,
        }));
      },
      ended: async (meetingId, endedBy, endedAt) => {
        await rtc.ended(meetingId, endedBy, endedAt);
        await this.toHolders(meetingId, (corr, replyTo) => ({
          kind: 'meeting-ended',
          corr,
          replyTo,
          meetingId,
          endedBy,
          endedAt,
        }));
      },
    };
  }

  /** What REST did on another node, for this node when it holds the media room. */
  register(router: BusRoutes, rtc: Pick<RtcService, 'userLeft' | 'ended'>): void {
    router
      .on('meeting-left', (m) =>
        this.rpc.answer(m, m.kind, () => rtc.userLeft(m.meetingId, m.userId)),
      )
      .on('meeting-ended', (m) =>
        this.rpc.answer(m, m.kind, () => rtc.ended(m.meetingId, m.endedBy, m.endedAt)),
      );
  }

  /**
   * The live nodes holding the meeting's media: the one holding its media room, or (when
   * meetings span the nodes) this node and every other serving its peers.
   */
  async holders(meetingId: string): Promise<string[]> {
    if (!this.span) return [await this.placement.meetingNode(meetingId, false)];
    const others = await this.span.nodes(meetingId).catch((err: unknown) => {
      this.log.warn({ event: 'meeting_nodes_failed', meetingId, err }, 'meeting nodes unknown');
      return [];
    });
    return [this.nodeId, ...others.filter((n) => n !== this.nodeId)];
  }

  /**
   * Has the node holding the meeting's media room (every other node serving the meeting, when
   * meetings span the nodes) do what REST did here, and waits for it (the client that called
   * REST expects its peers to have been told). A node that does not answer is logged: the
   * store already says what happened.
   */
  private async toHolders(
    meetingId: string,
    build: (corr: string, replyTo: string) => BusRequest,
  ): Promise<void> {
    const nodes = await this.holders(meetingId);
    await Promise.all(
      nodes
        .filter((node) => node !== this.nodeId)
        .map((node) =>
          this.rpc
            .ask(node, build)
            .catch((err: unknown) =>
              this.log.warn(
                { event: 'meeting_remote_failed', meetingId, node, err },
                'meeting node silent',
              ),
            ),
        ),
    );
  }
}
