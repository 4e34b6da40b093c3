import type { Command } from '@parley/protocol';
import type {
  LocalRunner,
  Nodes,
  Placement,
  PresenceDirectory,
  Requests,
  RoomMirror,
  Sender,
} from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import type { RoomManager } from './rooms.ts';
import { runsWithRooms } from './rooms-node.ts';

/** What the rooms' lease needs. */
export interface RoomsLeaseOptions {
  nodeId: string;
  placement: Placement;
  registry: Pick<Nodes, 'onLeaderChange' | 'roomsLeader'>;
  mirror: Pick<RoomMirror, 'load'>;
  directory: PresenceDirectory;
  rpc: Requests;
  /** Longest a room command waits for a successor while the lease is vacant. */
  vacancyWaitMs: number;
  log: Logger;
}

/**
 * The rooms run on one node of the cluster, the holder of the rooms lease (ROOM's checks look
 * across rooms, at who shares any room and who offered whom). The holder mirrors them in Redis
 * and the next holder takes them over; room commands arriving elsewhere are forwarded to it.
 */
export class RoomsLease {
  /** Settles once the rooms this node took over are loaded (room commands wait for it). */
  private ready: Promise<void> = Promise.resolve();

  constructor(private readonly o: RoomsLeaseOptions) {}

  /**
   * Makes `rooms` follow the lease: taken over from the mirror, forgotten when another node
   * holds them (a node that held them before an outage must not answer for them).
   */
  follow(rooms: RoomManager): void {
    const { nodeId, registry } = this.o;
    registry.onLeaderChange((leader) => {
      if (leader === nodeId) this.ready = this.take(rooms);
      else if (leader !== null) rooms.clear();
    });
    if (registry.roomsLeader() === nodeId) this.ready = this.take(rooms);
  }

  /**
   * Runs a room command on the holder (`here` when that is this node). While the lease is
   * vacant (its holder died) it waits for the successor; without Redis, this node serves its
   * own users' rooms alone.
   */
  async run(
    here: (sender: Sender, c: Command) => unknown,
    sender: Sender,
    command: Command,
  ): Promise<unknown> {
    const holder = await this.o.placement.roomsNode(this.o.vacancyWaitMs);
    if (holder === this.o.nodeId) return this.whenReady(here, sender, command);
    return this.o.rpc.request(holder, sender, command);
  }

  /** Runs a room command here once the rooms taken over are loaded. */
  private async whenReady(
    here: (sender: Sender, c: Command) => unknown,
    sender: Sender,
    command: Command,
  ): Promise<unknown> {
    await this.ready;
    return here(sender, command);
  }

  /**
   * How commands forwarded to this node run: a room command once the rooms taken over are
   * loaded, any other at once.
   */
  forwarded(here: LocalRunner): LocalRunner {
    return (sender, command) =>
      runsWithRooms(command) ? this.whenReady(here, sender, command) : here(sender, command);
  }

  /** Loads the rooms a previous holder mirrored; members no longer connected leave them. */
  private async take(rooms: RoomManager): Promise<void> {
    try {
      const snapshot = await this.o.mirror.load();
      const present = new Set<string>();
      const users = new Set(snapshot.members.map((m) => m.userId));
      await Promise.all(
        [...users].map(async (userId) => {
          for (const d of await this.o.directory.devices(userId)) present.add(d.deviceId);
        }),
      );
      rooms.restore(snapshot, (d) => present.has(d.deviceId));
    } catch (err) {
      this.o.log.warn({ event: 'rooms_takeover_failed', err }, 'could not take the rooms over');
    }
  }
}
