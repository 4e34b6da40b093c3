import type { BusRoutes, Nodes, Requests } from '../core/index.ts';
import type { SessionHandoff } from './sessions.ts';
import type { Gateway, RemoteSessions } from './upgrade.ts';

/**
 * Sessions across the nodes: a device that resumes on another node than the one that issued
 * its session has that node hand it over (`session-take`, asked over the bus).
 */
export class SessionHandoffs {
  /** The gateway whose sessions other nodes may take over (set once it exists). */
  private gateway: Pick<Gateway, 'handOff'> | null = null;

  constructor(
    private readonly registry: Pick<Nodes, 'isAlive'>,
    private readonly rpc: Requests,
  ) {}

  /** Resumes of sessions that another node issued: asked of that node. */
  remote(): RemoteSessions {
    return {
      take: async (nodeId, request) => {
        if (!this.registry.isAlive(nodeId)) return null;
        const handoff = await this.rpc.ask(nodeId, (corr, replyTo) => ({
          kind: 'session-take',
          corr,
          replyTo,
          ...request,
        }));
        return handoff as SessionHandoff | null;
      },
    };
  }

  /** Lets other nodes take over this gateway's sessions when their devices resume there. */
  handOffFrom(gateway: Pick<Gateway, 'handOff'>): void {
    this.gateway = gateway;
  }

  /** Another node asks for one of this node's sessions. */
  register(router: BusRoutes): void {
    router.on('session-take', (m) =>
      this.rpc.answer(m, m.kind, () => this.gateway?.handOff(m) ?? null),
    );
  }
}
