import type { Bus, BusMessage, BusRoutes, Delivery, Nodes, Sender } from '../core/index.ts';

/** How this node reacts to a device arriving or leaving, whichever node it was on. */
export interface DeviceHooks {
  online(device: Sender): void;
  offline(device: Sender, graceElapsed: boolean): void;
}

/** The gateway's device hooks once they spread to the nodes that care. */
export interface SpreadHooks {
  onDeviceOnline: (device: Sender) => void;
  onDeviceOffline: (device: Sender, graceElapsed: boolean) => void;
  /** A meeting-only connection (socket.io) closed: the meetings it was in hear it. */
  onMeetingDeviceOffline: (device: Sender) => void;
}

/** What spreading devices' comings and goings needs. */
export interface PresenceRoutingOptions {
  nodeId: string;
  bus: Pick<Bus, 'publish'>;
  registry: Pick<Nodes, 'roomsLeader' | 'markDead'>;
  /** The calls across the nodes: which other nodes own a user's live calls. */
  calls: { remoteOwners(userId: string): Promise<string[]> };
  /** The meetings across the nodes (see MeetingRouting). */
  meetings: {
    /** The device left: the nodes holding its meetings elsewhere. */
    take(deviceId: string): Set<string>;
    /** A node died with the media rooms it held. */
    nodeLost(hub: Pick<Delivery, 'toDevice'>, dead: string): void;
  };
  /** What this node itself does when a device comes or goes. */
  here: DeviceHooks;
  /** This node's media rooms (see RtcService). */
  rtc: {
    deviceGone(device: Sender): void;
    readonly span: { nodeLost(nodeId: string): void; reassert(): void } | null;
  };
  /** Tells this node's devices in meetings held by a lost node. */
  hub: Pick<Delivery, 'toDevice'>;
  /** This node was taken for dead by the others (see fence). */
  fenced: () => void;
}

/**
 * Devices' comings and goings across the nodes: told to the nodes that own the device's
 * calls, hold its meetings or the rooms, and heard from them; and the loss of a node, whose
 * devices are gone for everyone.
 */
export class PresenceRouting {
  constructor(private readonly o: PresenceRoutingOptions) {}

  /** The gateway's hooks: this node's own reaction, and the nodes that care are told. */
  hooks(): SpreadHooks {
    const { here, calls, registry, meetings, rtc } = this.o;
    return {
      onDeviceOnline: (device) => {
        here.online(device);
        void calls
          .remoteOwners(device.userId)
          .then((owners) => this.tell(owners, { kind: 'device', online: true, device }));
      },
      onDeviceOffline: (device, graceElapsed) => {
        here.offline(device, graceElapsed);
        const leader = registry.roomsLeader();
        const held = meetings.take(device.deviceId);
        void calls.remoteOwners(device.userId).then((owners) => {
          const targets = new Set([...owners, ...held]);
          if (leader) targets.add(leader);
          this.tell(targets, { kind: 'device', online: false, device, graceElapsed });
        });
      },
      onMeetingDeviceOffline: (device) => {
        rtc.deviceGone(device);
        this.tell(meetings.take(device.deviceId), {
          kind: 'device',
          online: false,
          device,
          graceElapsed: true,
        });
      },
    };
  }

  /** Devices that came or went on other nodes, and nodes lost. */
  register(router: BusRoutes): void {
    const { nodeId, here, registry, meetings, hub, rtc } = this.o;
    router
      .on('device', (m) => {
        if (m.online) here.online(m.device);
        else here.offline(m.device, m.graceElapsed === true);
      })
      .on('node-lost', (m) => {
        if (m.nodeId === nodeId) {
          // The janitor took this node out of its meetings' node sets: it serves them still.
          rtc.span?.reassert();
          return this.o.fenced();
        }
        registry.markDead(m.nodeId);
        for (const device of m.devices) here.offline(device, true);
        meetings.nodeLost(hub, m.nodeId);
        rtc.span?.nodeLost(m.nodeId);
      });
  }

  private tell(targets: Iterable<string>, m: BusMessage): void {
    for (const n of targets) if (n !== this.o.nodeId) this.o.bus.publish(n, m);
  }
}
