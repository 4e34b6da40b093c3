import type { CallSelector, ChatOrigin, DeviceRef, IceCandidate } from '@parley/protocol';
import { selectCall, type CallSummary } from '../calls/index.ts';
import type { EarlyIceBuffer, SignalView } from '../relay/index.ts';
import type { CallRoute } from '../core/index.ts';

/** ICE a device sent before any offer of its call went through this node. */
export interface HeldIce {
  to: DeviceRef;
  from: string;
  candidate: IceCandidate | null;
  origin: ChatOrigin | undefined;
}

/** A route as a node keeps it, with the early-ICE hold of the engine's relay. */
export interface RouteEntry extends CallSummary {
  readonly route: CallRoute;
  /** What the relay check reads. */
  readonly view: SignalView;
  /** An offer of this call went through this node (sent or received). */
  offerRelayed: boolean;
  answerRelayed: boolean;
  earlyIce: EarlyIceBuffer<HeldIce> | null;
}

/** The routes of the answered calls that have a device on this node. */
export class RouteCache {
  private readonly byId = new Map<string, RouteEntry>();
  private readonly byUser = new Map<string, Set<RouteEntry>>();

  get size(): number {
    return this.byId.size;
  }

  /** Adds or replaces a route (a device of the call moved to another node). */
  put(route: CallRoute): void {
    const old = this.byId.get(route.callId);
    if (old) this.unindex(old);
    const entry: RouteEntry = {
      callId: route.callId,
      caller: route.caller.userId,
      callee: route.callee,
      phase: 'accepted',
      route,
      view: {
        callId: route.callId,
        phase: 'accepted',
        caller: route.caller,
        callee: route.callee,
        answeredBy: route.answeredBy,
      },
      offerRelayed: route.offerRelayed === true || (old?.offerRelayed ?? false),
      answerRelayed: old?.answerRelayed ?? false,
      earlyIce: old?.earlyIce ?? null,
    };
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
