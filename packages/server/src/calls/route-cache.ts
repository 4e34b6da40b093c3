import type { CallSelector, DeviceRef, IceEvent, SdpEvent } from '@parley/protocol';
import { selectCall } from './machine.ts';
import type { CallSummary } from './state.ts';
import { RelayRoute, type SignalDelivery } from '../relay/index.ts';
import type { Bus, CallRoute } from '../core/index.ts';

/** A route as a node keeps it: the owner's announcement and the relay's route for it. */
export interface RouteEntry extends CallSummary {
  route: CallRoute;
  readonly relay: RelayRoute;
}

/**
 * The routes of the answered calls that have a device on this node. Each one's events go to
 * the node of the device they are for: this one (`here`), or another over the bus.
 */
export class RouteCache {
  private readonly byId = new Map<string, RouteEntry>();
  private readonly byUser = new Map<string, Set<RouteEntry>>();

  constructor(
    private readonly nodeId: string,
    private readonly bus: Pick<Bus, 'publish'>,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /**
   * Adds a route, or replaces one whose device moved to another node (its relay state is
   * kept). `here` delivers to the devices connected to this node.
   */
  put(route: CallRoute, here: SignalDelivery): void {
    const old = this.byId.get(route.callId);
    if (old) {
      old.route = route;
      old.relay.view = viewOf(route);
      if (route.offerRelayed) old.relay.offerRelayed = true;
      return;
    }
    const entry: RouteEntry = {
      callId: route.callId,
      caller: route.caller.userId,
      callee: route.callee,
      phase: 'accepted',
      route,
      relay: new RelayRoute(viewOf(route), {
        toDevice: (to: DeviceRef, event: SdpEvent | IceEvent) => {
          const r = entry.route;
          const node = to.deviceId === r.caller.deviceId ? r.callerNode : r.answerNode;
          if (node === this.nodeId) here.toDevice(to, event);
          else this.bus.publish(node, { kind: 'relay', to, event });
        },
      }),
    };
    if (route.offerRelayed) entry.relay.offerRelayed = true;
    this.byId.set(route.callId, entry);
    for (const u of [entry.caller, entry.callee]) {
      let set = this.byUser.get(u);
      if (!set) this.byUser.set(u, (set = new Set()));
      set.add(entry);
    }
  }

  drop(callId: string): void {
    const entry = this.byId.get(callId);
    if (entry) this.unindex(entry);
  }

  /**
   * The route a selector names for `userId`, or undefined when this node has none (the owner
   * then decides). Errors are those of the engine's own resolution.
   */
  find(userId: string, sel: CallSelector): RouteEntry | undefined {
    if ('callId' in sel) return this.byId.get(sel.callId);
    const mine = this.byUser.get(userId);
    if (!mine) return undefined;
    try {
      return selectCall(mine, userId, sel);
    } catch {
      // Not here, or refused: the owner answers with the engine's own error.
      return undefined;
    }
  }

  private unindex(entry: RouteEntry): void {
    this.byId.delete(entry.callId);
    for (const u of [entry.caller, entry.callee]) {
      const set = this.byUser.get(u);
      if (set?.delete(entry) && set.size === 0) this.byUser.delete(u);
    }
  }
}

/** An answered call as the relay reads it. */
const viewOf = (r: CallRoute) => ({
  callId: r.callId,
  phase: 'accepted' as const,
  caller: r.caller,
  callee: r.callee,
  answeredBy: r.answeredBy,
  media: r.media,
  createdAt: r.createdAt,
});
