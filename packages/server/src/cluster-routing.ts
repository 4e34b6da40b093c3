import type { Command } from '@parley/protocol';
import { adminPeers, routeAdmin } from './admin/index.ts';
import {
  CallAnnouncer,
  ClusterCalls,
  RouteCache,
  routeCalls,
  type CallEngine,
} from './calls/index.ts';
import type {
  AdminOp,
  AdminPeers,
  Bus,
  BusRoutes,
  CallIndex,
  MeetingSpanPort,
  Nodes,
  Owners,
  Placement,
  PresenceDirectory,
  Requests,
  RoomMirror,
  Sender,
} from './core/index.ts';
import {
  routeForwardedCommands,
  SessionHandoffs,
  type Dispatcher,
  type Gateway,
  type Hub,
  type RemoteSessions,
} from './gateway/index.ts';
import { MeetingRouting, routeSpan, type RtcService } from './meetings/index.ts';
import type { Logger } from './observability/index.ts';
import { PresenceRouting, type DeviceHooks, type SpreadHooks } from './presence/index.ts';
import type { SignalRelay } from './relay/index.ts';
import { RoomsLease, type RoomManager } from './rooms/index.ts';

/** The cluster's adapters as the domains' routers use them (ClusterNode provides them). */
export interface ClusterPorts {
  nodeId: string;
  bus: Bus;
  router: BusRoutes;
  requests: Requests;
  nodes: Nodes;
  placement: Placement;
  index: CallIndex;
  directory: PresenceDirectory;
  mirror: Pick<RoomMirror, 'load'>;
  span: MeetingSpanPort | null;
  /** Longest a room command waits for a successor while the rooms lease is vacant. */
  vacancyWaitMs: number;
  log: Logger;
  /** The cluster took this node for dead: drop its calls and clients. */
  fence(parts: { engine: Pick<CallEngine, 'abandonAll'>; hub: Hub }): void;
}

/** The node's parts the routers route to. */
export interface ServeParts {
  engine: CallEngine;
  /** This node's own dispatcher: runs commands here, for local clients and forwarded ones. */
  local: Dispatcher;
  /** What this node does when a device comes or goes (its calls, rooms, meetings). */
  here: DeviceHooks;
  /** The media rooms of the meetings this node holds. */
  rtc: RtcService;
  /** The rooms, which this node serves while it holds the rooms lease. */
  rooms: RoomManager;
  /** The engine's relay: a device on this node relays along its call's route with it. */
  relay: SignalRelay;
  /** Runs what another node's admin API asks of this one. */
  admin: (op: AdminOp) => Promise<unknown>;
}

/** What app.ts gets back: where commands run, and the device hooks that spread. */
export interface Served extends SpreadHooks {
  owners: Owners;
}

/**
 * Part of the composition root (app.ts), apart for its size: each domain's router of a node in
 * a cluster, registered on the cluster's ports by the bus message kinds it handles. Where each
 * command runs:
 *  - calls on their owner (the node that created them); relay between the two devices' nodes;
 *  - rooms and group chat on the node holding the rooms lease (one for the cluster: ROOM's
 *    checks look across rooms, at who shares any room and who offered whom); the holder
 *    mirrors them and the next holder takes them over;
 *  - meetings on the node holding their media room (where they arrive when they span nodes);
 *  - everything else where it arrives.
 */
export class ClusterRouting {
  /** The routes of the answered calls with a device on this node. */
  private readonly routes: RouteCache;
  private readonly meetings: MeetingRouting;
  private readonly sessions: SessionHandoffs;

  constructor(
    private readonly c: ClusterPorts,
    private readonly hub: Hub,
    log: Logger,
  ) {
    this.routes = new RouteCache(c.nodeId, c.bus);
    this.meetings = new MeetingRouting(c.nodeId, c.placement, c.requests, log, c.span);
    this.sessions = new SessionHandoffs(c.nodes, c.requests);
  }

  /** The engine's watcher: keeps the call index and routes of the calls this node owns. */
  announcer(): CallAnnouncer {
    const announcer = new CallAnnouncer(this.callParts());
    this.c.nodes.onReconnect(() => announcer.restore());
    return announcer;
  }

  /** The nodes holding a meeting's media, for the admin API (see MeetingRouting.holders). */
  meetingHolders(meetingId: string): Promise<string[]> {
    return this.meetings.holders(meetingId);
  }

  /** What the REST meeting service calls to leave and end meetings (see MeetingRouting). */
  meetingRooms(rtc: RtcService): Pick<RtcService, 'userLeft' | 'ended'> {
    return this.meetings.forRest(rtc);
  }

  /** Resumes of sessions that another node issued, asked of that node. */
  remoteSessions(): RemoteSessions {
    return this.sessions.remote();
  }

  /** Lets other nodes take over this gateway's sessions when their devices resume there. */
  handOffSessionsOf(gateway: Pick<Gateway, 'handOff'>): void {
    this.sessions.handOffFrom(gateway);
  }

  /** The other nodes, for the admin API. */
  adminPeers(): AdminPeers {
    return adminPeers(this.c.nodes, this.c.requests);
  }

  /** Registers every domain's router on the bus; returns where commands run. */
  serve(s: ServeParts): Served {
    const { c, hub } = this;
    const { nodeId, router, requests } = c;
    const here = (sender: Sender, cmd: Command) => s.local.run(sender, cmd);
    const calls = new ClusterCalls({
      ...this.callParts(),
      engine: s.engine,
      registry: c.nodes,
      rpc: requests,
      local: here,
      relay: s.relay,
      placement: c.placement,
    });
    const lease = new RoomsLease({
      nodeId,
      placement: c.placement,
      registry: c.nodes,
      mirror: c.mirror,
      directory: c.directory,
      rpc: requests,
      vacancyWaitMs: c.vacancyWaitMs,
      log: c.log,
    });
    const presence = new PresenceRouting({
      nodeId,
      bus: c.bus,
      registry: c.nodes,
      calls,
      meetings: this.meetings,
      here: s.here,
      rtc: s.rtc,
      hub,
      fenced: () => c.fence({ engine: s.engine, hub }),
    });
    // Each domain's bus messages, by kind.
    routeForwardedCommands(router, { rpc: requests, hub, run: lease.forwarded(here) });
    routeCalls(router, { routes: this.routes, hub, relay: s.relay });
    presence.register(router);
    this.sessions.register(router, {
      leaving: (deviceId) => this.meetings.handOff(s.rtc, deviceId),
      arrived: (device, peers) => this.meetings.adopt(device, peers),
    });
    this.meetings.register(router, s.rtc);
    routeAdmin(router, requests, s.admin);
    routeSpan(router, requests, s.rtc);
    lease.follow(s.rooms);
    return {
      owners: {
        invite: (sender, cmd) => calls.invite(sender, cmd),
        call: (sender, cmd) => calls.run(sender, cmd),
        rooms: (sender, cmd) => lease.run(here, sender, cmd),
        meeting: (sender, cmd) => this.meetings.run(s.rtc, here, sender, cmd),
      },
      ...presence.hooks(),
    };
  }

  private callParts() {
    const { nodeId, index, bus, directory } = this.c;
    return { nodeId, index, routes: this.routes, bus, hub: this.hub, directory };
  }
}
