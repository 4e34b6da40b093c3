import type {
  Command,
  DeviceRef,
  ErrorBody,
  IceEvent,
  SdpEvent,
  ServerEvent,
} from '@parley/protocol';
import type { Sender } from '../calls/index.ts';
import type { CallRoute } from './routes.ts';

/**
 * Messages between nodes, as one discriminated union (socket.io's cluster adapter is the
 * model). A transport only has to move them.
 */
export type BusMessage =
  /** An event for a device connected to the receiving node; `redirected` once re-routed. */
  | { kind: 'deliver'; to: DeviceRef; event: ServerEvent; redirected?: true }
  /** Runs a command on the receiving node: the owner of its call, meeting or rooms. */
  | { kind: 'command'; corr: string; replyTo: string; sender: Sender; command: Command }
  /** The outcome of a `command`, back to the node that forwarded it. */
  | { kind: 'reply'; corr: string; result: unknown }
  | { kind: 'reply'; corr: string; error: ErrorBody }
  /**
   * A device connected to (`online`) or left the sending node: its calls, rooms and meetings
   * react. `graceElapsed`: it already had its disconnect grace (a resumable session expired).
   */
  | { kind: 'device'; online: boolean; device: Sender; graceElapsed?: boolean }
  /** An answered call's route, from its owner to the nodes of the two devices that talk. */
  | { kind: 'route'; route: CallRoute }
  /** Calls that ended: every node drops their routes. */
  | { kind: 'unroute'; callIds: string[] }
  /** Offer, answer or ICE sent straight from one party's node to the other's. */
  | { kind: 'relay'; to: DeviceRef; event: SdpEvent | IceEvent }
  /** Sent through Redis when a direct link opens: what the link brings comes after it. */
  | { kind: 'link-open'; linkId: string }
  /** A node died (broadcast by the janitor that cleaned up after it): its devices are gone. */
  | { kind: 'node-lost'; nodeId: string; devices: Sender[] }
  /** A user left a meeting through REST: to the node holding its media room (a request). */
  | { kind: 'meeting-left'; corr: string; replyTo: string; meetingId: string; userId: string }
  /** A device resumed here with a token of the receiving node: hand its session over. */
  | {
      kind: 'session-take';
      corr: string;
      replyTo: string;
      token: string;
      userId: string;
      dialect: string;
      received?: number;
    }
  /** A meeting ended through REST: to the node holding its media room (a request). */
  | {
      kind: 'meeting-ended';
      corr: string;
      replyTo: string;
      meetingId: string;
      endedBy: string;
      endedAt: string;
    };

/** Moves messages between nodes. MemoryBus in one process; RedisBus across machines. */
export interface Bus {
  /** Sends to one node. Messages from one node to another arrive in the order sent. */
  publish(nodeId: string, message: BusMessage): void;
  /** Sends to every node, this one included. */
  broadcast(message: BusMessage): void;
  /** Receives what is sent to `nodeId` and every broadcast (any number of handlers). */
  subscribe(nodeId: string, handler: (message: BusMessage) => void): void;
  close(): Promise<void>;
}

/** In-process bus: the single default node, or several nodes in one process. */
export class MemoryBus implements Bus {
  private readonly handlers = new Map<string, Array<(message: BusMessage) => void>>();

  publish(nodeId: string, message: BusMessage): void {
    const handlers = this.handlers.get(nodeId);
    if (handlers) queueMicrotask(() => handlers.forEach((h) => h(message)));
  }

  broadcast(message: BusMessage): void {
    for (const nodeId of this.handlers.keys()) this.publish(nodeId, message);
  }

  subscribe(nodeId: string, handler: (message: BusMessage) => void): void {
    const handlers = this.handlers.get(nodeId);
    if (handlers) handlers.push(handler);
    else this.handlers.set(nodeId, [handler]);
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
