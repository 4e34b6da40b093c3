import type { Bus, BusMessage, BusMessageOf, BusRoutes } from '../core/index.ts';

type Kind = BusMessage['kind'];

/**
 * This node's bus messages, handed to the handler each domain registered for their kind
 * (peerjs-server's handler registry is the model) instead of one switch over every kind.
 * A kind nobody registered is someone else's (the hub's deliveries, the links' markers).
 */
export class BusRouter implements BusRoutes {
  private readonly handlers = new Map<Kind, (message: BusMessage) => void>();

  constructor(bus: Bus, nodeId: string) {
    bus.subscribe(nodeId, (m) => this.handlers.get(m.kind)?.(m));
  }

  /** Registers the one handler of `kind`. */
  on<K extends Kind>(kind: K, handler: (message: BusMessageOf<K>) => void): this {
    if (this.handlers.has(kind)) throw new TypeError(`bus kind ${kind} already routed`);
    this.handlers.set(kind, handler as (message: BusMessage) => void);
    return this;
  }
}
