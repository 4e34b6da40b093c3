import type {
  Command,
  DeviceRef,
  ErrorBody,
  IceEvent,
  SdpEvent,
  ServerEvent,
} from '@parley/protocol';
import type { AdminOp, Revocation } from './admin.ts';
import type { CallRoute } from './call-route.ts';
import type { SpanNotice, SpanRequest } from './meeting-span.ts';
import type { Sender } from './sender.ts';

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
  /** A meeting spanning nodes: a request of one node to another that serves it too. */
  | (SpanRequest & { corr: string; replyTo: string })
  /** A meeting spanning nodes: news from one node to another that serves it too. */
  | (SpanNotice & { from: string })
  /** A meeting ended through REST: to the node holding its media room (a request). */
  | {
      kind: 'meeting-ended';
      corr: string;
      replyTo: string;
      meetingId: string;
      endedBy: string;
      endedAt: string;
    }
  /** An administrator's request for the node that holds what it names (see AdminOp). */
  | { kind: 'admin'; corr: string; replyTo: string; op: AdminOp }
  /** Tokens were revoked (broadcast): every node adds it to its list and closes their sockets. */
  | { kind: 'revoked'; revocation: Revocation };

/** Moves messages between nodes. MemoryBus in one process; RedisBus across machines. */
export interface Bus {
  /** Sends to one node. Messages from one node to another arrive in the order sent. */
  publish(nodeId: string, message: BusMessage): void;
  /** Sends to every node, this one included. */
  broadcast(message: BusMessage): void;
  /**
   * Receives what is sent to `nodeId` and every broadcast (any number of handlers). Returns
   * what stops `handler` receiving.
   */
  subscribe(nodeId: string, handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

/** A bus message of kind `K`. */
export type BusMessageOf<K extends BusMessage['kind']> = Extract<BusMessage, { kind: K }>;

/**
 * This node's bus messages by kind: each domain registers the handler of its own kinds (the
 * cluster's BusRouter implements it; peerjs-server's handler registry is the model).
 */
export interface BusRoutes {
  /** Registers the one handler of `kind`. */
  on<K extends BusMessage['kind']>(kind: K, handler: (message: BusMessageOf<K>) => void): this;
}
