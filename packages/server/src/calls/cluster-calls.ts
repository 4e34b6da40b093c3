import {
  AppError,
  ErrorCode,
  type Command,
  type InviteCommand,
  type RelayCommand,
} from '@parley/protocol';
import type {
  Bus,
  CallCommandWithCall,
  CallIndex,
  CallRoute,
  CallStart,
  Delivery,
  LocalRunner,
  Nodes,
  Placement,
  PresenceDirectory,
  Requests,
  Sender,
} from '../core/index.ts';
import type { SignalRelay } from '../relay/index.ts';
import type { CallEngine } from './engine.ts';
import { findGlare, selectCall } from './machine.ts';
import { PendingInvites } from './pending-invites.ts';
import type { RouteCache } from './route-cache.ts';
import { summaryOf, type CallState, type CallSummary } from './state.ts';
import type { CallWatcher } from './watcher.ts';

/** What both sides of clustered calls share. */
interface Parts {
  nodeId: string;
  index: CallIndex;
  routes: RouteCache;
  bus: Pick<Bus, 'publish'>;
  /** Delivers here, and knows the node of a device that talked to this one. */
  hub: Pick<Delivery, 'toDevice'> & { locate(deviceId: string): string | undefined };
  directory: PresenceDirectory;
}

/**
 * The owner's side: keeps the cluster's call index current and, when a call is answered,
 * sends its route to the nodes of the two devices that will talk (before anyone hears of the
 * answer, so their first offer already finds it), and takes it back when the call ends.
 */
export class CallAnnouncer implements CallWatcher {
  /** callId → the nodes holding its route. */
  private readonly announced = new Map<string, string[]>();
  /** The calls live here, as the index has them, and how each started. */
  private readonly live = new Map<string, { summary: CallSummary; start: CallStart }>();

  constructor(private readonly o: Parts) {}

  started(s: CallState): void {
    const summary = summaryOf(s);
    const start: CallStart = {
      callId: s.callId,
      caller: s.caller.userId,
      callerDevice: s.caller.deviceId,
      callee: s.callee,
      media: s.media,
      createdAt: s.createdAt,
      ownerNode: this.o.nodeId,
    };
    this.live.set(s.callId, { summary, start });
    this.o.index.put(summary, start);
  }

  accepted(s: CallState, offerRelayed: boolean): void {
    const summary = summaryOf(s);
    const live = this.live.get(s.callId);
    if (live) live.summary = summary;
    this.o.index.put(summary);
    const { hub } = this.o;
    const callerNode = hub.locate(s.caller.deviceId);
    const answerNode = hub.locate(s.answeredBy!.deviceId);
    if (callerNode && answerNode) {
      this.announce(s, callerNode, answerNode, offerRelayed);
      return;
    }
    // A device that moved since it last talked to this node: ask the directory.
    void Promise.all([
      this.nodeOf(s.caller.userId, s.caller.deviceId, callerNode),
      this.nodeOf(s.callee, s.answeredBy!.deviceId, answerNode),
    ]).then(
      ([c, a]) => {
        if (c && a && this.live.has(s.callId)) this.announce(s, c, a, offerRelayed);
      },
      () => undefined,
    );
  }

  ended(s: CallState): void {
    this.live.delete(s.callId);
    void this.o.index.drop([summaryOf(s)]);
    const nodes = this.announced.get(s.callId);
    if (!nodes) return;
    this.announced.delete(s.callId);
    for (const n of nodes) {
      if (n === this.o.nodeId) this.o.routes.drop(s.callId);
      else this.o.bus.publish(n, { kind: 'unroute', callIds: [s.callId] });
    }
  }

  /** Writes every live call into the index again (Redis came back empty). */
  restore(): void {
    for (const { summary, start } of this.live.values()) this.o.index.put(summary, start);
  }

  private announce(
    s: CallState,
    callerNode: string,
    answerNode: string,
    offerRelayed: boolean,
  ): void {
    const route: CallRoute = {
      callId: s.callId,
      media: s.media,
      caller: {
        userId: s.caller.userId,
        deviceId: s.caller.deviceId,
        clientType: s.caller.clientType,
      },
      callee: s.callee,
      answeredBy: s.answeredBy!,
      callerNode,
      answerNode,
      createdAt: s.createdAt,
      ...(offerRelayed ? { offerRelayed } : {}),
    };
    const nodes = [...new Set([callerNode, answerNode])];
    this.announced.set(s.callId, nodes);
    for (const n of nodes) {
      if (n === this.o.nodeId) this.o.routes.put(route, this.o.hub);
      else this.o.bus.publish(n, { kind: 'route', route });
    }
  }

  private async nodeOf(
    userId: string,
    deviceId: string,
    known?: string,
  ): Promise<string | undefined> {
    if (known) return known;
    return (await this.o.directory.devices(userId)).find((d) => d.deviceId === deviceId)?.nodeId;
  }
}

/** What the origin side needs besides the shared parts. */
export interface ClusterCallsOptions extends Parts {
  engine: CallEngine;
  registry: Pick<Nodes, 'confirmAlive'>;
  rpc: Requests;
  /** Runs a call command on this node's engine (the owner's own dispatcher). */
  local: LocalRunner;
  relay: SignalRelay;
  placement: Placement;
}

const isRelay = (c: CallCommandWithCall): c is RelayCommand =>
  c.type === 'call:offer' || c.type === 'call:answer' || c.type === 'call:ice';

/**
 * The side where a command arrives: finds the call's owner (its id names it; a selector is
 * looked up in the call index), runs the command there and answers the client. Offer, answer
 * and ICE of an answered call skip the owner: the route tells this node where the other device
 * is, and the check and the early-ICE hold of the engine's relay are done here.
 */
export class ClusterCalls {
  private readonly inviting = new PendingInvites();

  constructor(private readonly o: ClusterCallsOptions) {}

  /**
   * Starts a call here (its owner is the caller's node); glare and busy are cluster-wide. Until
   * the call exists, an offer for it waits (see PendingInvites).
   */
  invite(sender: Sender, cmd: InviteCommand): Promise<{ callId: string; glare?: true }> {
    return this.inviting.track(sender.userId, cmd.callee, this.place(sender, cmd));
  }

  private async place(
    sender: Sender,
    cmd: InviteCommand,
  ): Promise<{ callId: string; glare?: true }> {
    if (cmd.callee === sender.userId) throw AppError.selfCall();
    const [mine, theirs] = await Promise.all([
      this.liveCalls(sender.userId),
      this.liveCalls(cmd.callee),
    ]);
    const glare = findGlare(mine, sender.userId, cmd.callee);
    const owner = glare && this.o.placement.callOwner(glare.callId);
    if (glare && owner !== this.o.nodeId) {
      try {
        await this.o.rpc.request(owner!, sender, {
          type: 'call:accept',
          call: { callId: glare.callId },
        });
        return { callId: glare.callId, glare: true };
      } catch (err) {
        // Answered or ended meanwhile: this invite is a call of its own.
        const code = err instanceof AppError ? err.code : null;
        if (code !== ErrorCode.InvalidState && code !== ErrorCode.NotFound) throw err;
      }
    }
    return this.o.engine.invite(sender, cmd, theirs.length > 0);
  }

  /**
   * A command naming a call: offer, answer and ICE through the relay when this node has the
   * call's route, everything else (and those without a route) by the call's owner.
   */
  run(sender: Sender, cmd: CallCommandWithCall): unknown {
    return isRelay(cmd) ? this.relay(sender, cmd) : this.onOwner(sender, cmd);
  }

  /**
   * Offer, answer, ICE: through the relay, straight to the other device's node, when this
   * node has the call's route; by the owner otherwise.
   */
  private relay(sender: Sender, cmd: RelayCommand): unknown {
    const entry = this.o.routes.find(sender.userId, cmd.call);
    if (!entry) {
      const invite = this.inviting.before(sender.userId, cmd.call);
      return invite ? invite.then(() => this.onOwner(sender, cmd)) : this.onOwner(sender, cmd);
    }
    this.o.relay.relay(entry.relay, sender, cmd);
    return undefined;
  }

  /** The nodes other than this one that own live calls of `userId`. */
  async remoteOwners(userId: string): Promise<string[]> {
    const owners = new Set(
      (await this.liveCalls(userId)).map((c) => this.o.placement.callOwner(c.callId)),
    );
    owners.delete(this.o.nodeId);
    return [...owners];
  }

  /** Runs a command naming a call on the call's owner, with the selector resolved to its id. */
  private async onOwner(sender: Sender, cmd: CallCommandWithCall): Promise<unknown> {
    const sel = cmd.call;
    const callId =
      'callId' in sel
        ? sel.callId
        : selectCall(await this.liveCalls(sender.userId), sender.userId, sel).callId;
    const owner = this.o.placement.callOwner(callId);
    const command = { ...cmd, call: { callId } } as Command;
    if (owner === this.o.nodeId) return this.o.local(sender, command);
    if (!(await this.o.registry.confirmAlive(owner))) throw AppError.notFound('call');
    return this.o.rpc.request(owner, sender, command);
  }

  /** A user's live calls on every node; this node's own when Redis cannot be reached. */
  private async liveCalls(userId: string): Promise<CallSummary[]> {
    try {
      return await this.o.index.of(userId);
    } catch {
      return this.o.engine.states(userId).map(summaryOf);
    }
  }
}
