import type { BusRoutes, Nodes, Requests, Sender } from '../core/index.ts';
import type { SessionHandoff } from './sessions.ts';
import type { Gateway, RemoteSessions } from './upgrade.ts';

/**
 * Where a device's meeting peers are (meetingId → node), which moves with its session: a peer
 * stays on its node when its device resumes on another (its media goes there already), and
 * the device's new node must reach it and tell it when the device goes.
 */
export interface HandoffPeers {
  /** The device's session leaves this node: where its peers are. */
  leaving(deviceId: string): Record<string, string>;
  /** The device's session arrived from another node, its peers where `leaving` said. */
  arrived(device: Sender, peers: Record<string, string>): void;
}

/** A session-take's answer: the session, and where its device's meeting peers are. */
type Taken = SessionHandoff & { peers: Record<string, string> };

/**
 * Sessions across the nodes: a device that resumes on another node than the one that issued
 * its session has that node hand it over (`session-take`, asked over the bus), with where its
 * meeting peers are.
 */
export class SessionHandoffs {
  /** The gateway whose sessions other nodes may take over (set once it exists). */
  private gateway: Pick<Gateway, 'handOff'> | null = null;
  /** The node's meetings, once served (see register). */
  private peers: HandoffPeers | null = null;

  constructor(
    private readonly registry: Pick<Nodes, 'isAlive'>,
    private readonly rpc: Requests,
  ) {}

  /** Resumes of sessions that another node issued: asked of that node. */
  remote(): RemoteSessions {
    return {
      take: async (nodeId, request) => {
        if (!this.registry.isAlive(nodeId)) return null;
        const taken = (await this.rpc.ask(nodeId, (corr, replyTo) => ({
          kind: 'session-take',
          corr,
          replyTo,
          ...request,
        }))) as Taken | null;
        if (!taken) return null;
        const { peers, ...handoff } = taken;
        this.peers?.arrived(handoff.sender, peers);
        return handoff;
      },
    };
  }

  /** Lets other nodes take over this gateway's sessions when their devices resume there. */
  handOffFrom(gateway: Pick<Gateway, 'handOff'>): void {
    this.gateway = gateway;
  }

  /** Another node asks for one of this node's sessions; `peers`: the node's meetings. */
  register(router: BusRoutes, peers: HandoffPeers): void {
    this.peers = peers;
    router.on('session-take', (m) =>
      this.rpc.answer(m, m.kind, async (): Promise<Taken | null> => {
        const handoff = await this.gateway?.handOff(m);
        return handoff ? { ...handoff, peers: peers.leaving(handoff.sender.deviceId) } : null;
      }),
    );
  }
}
