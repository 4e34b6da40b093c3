import { randomUUID } from 'node:crypto';
import {
  AppError,
  type CallSelector,
  type ChatOrigin,
  type DeviceRef,
  type HandledCommand,
  type HangupCommand,
  type InviteCommand,
  type MediaCommand,
  type RelayCommand,
} from '@parley/protocol';
import type { Config } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import {
  nodeTimers,
  type CallRecordWriter,
  type CallStart,
  type Clock,
  type Delivery,
  type Sender,
  type Timer,
  type Timers,
} from '../core/index.ts';
import { RelayRoute, type SignalRelay } from '../relay/index.ts';
import { findGlare, selectCall, startCall, transition } from './machine.ts';
import { withOrigin } from './origin.ts';
import { PendingInvites } from './pending-invites.ts';
import type { CallWatcher } from './watcher.ts';
import type { CallInput, CallState, Effect, SendEffect, Transition } from './state.ts';

/** What the engine needs; nothing here knows a dialect or a socket. */
export interface CallEngineOptions {
  nodeId: string;
  calls: Config['calls'];
  caps: Pick<Config['caps'], 'ringingCallsPerUser'>;
  records: CallRecordWriter;
  directory: PresenceDirectory;
  delivery: Delivery;
  metrics: Metrics;
  /** Offer, answer and ICE between the devices of a call (the cluster's nodes use it too). */
  relay: SignalRelay;
  log: Logger;
  clock?: Clock;
  /** Ring, disconnect-grace and record-wait timeouts; Node's own by default. */
  timers?: Timers;
  /** Cluster mode: told when calls start, are answered and end here. */
  watcher?: CallWatcher;
}

/** Longest the end of a call waits for its record before the parties are told (store slow or down). */
const ANNOUNCE_WAIT_MS = 500;

/** The sender as a device: events name devices by these fields only, never name or grants. */
const deviceOf = ({ userId, deviceId, clientType }: Sender): DeviceRef => ({
  userId,
  deviceId,
  clientType,
});

const ringingCap = (max: number): AppError =>
  AppError.limitExceeded(
    `at most ${max} outgoing calls may ring at once`,
    'ringingCallsPerUser',
    max,
  );

/** One live call and the engine's bookkeeping around its state. */
interface LiveCall {
  state: CallState;
  start: CallStart;
  ringTimer: Timer | null;
  /** The relay's route: its view is the call's state, its events go out through Delivery. */
  route: RelayRoute;
  /** The caller's device as the call event logs show it. */
  callerClient: Sender['client'];
  /** What the parties' devices reported of their media (`call:media`). */
  media: { connectedAt: number | null; failedReason: string | null };
}

/**
 * Runs 1:1 calls on this node: feeds commands to the pure machine and carries out its effects.
 * Every input of a call is applied synchronously against its current state, so the first
 * answer wins without a lock. In cluster mode each call lives on its owner node.
 */
export class CallEngine {
  private readonly calls = new Map<string, LiveCall>();
  private readonly byUser = new Map<string, Set<LiveCall>>();
  private readonly lostTimers = new Map<string, Timer>();
  /** Per user, invites between the cap check and the call's start. */
  private readonly invitesInFlight = new Map<string, number>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly inviting = new PendingInvites();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly log: Logger;

  constructor(private readonly o: CallEngineOptions) {
    this.clock = o.clock ?? Date.now;
    this.timers = o.timers ?? nodeTimers;
    this.log = o.log.child({ mod: 'calls' });
  }

  /** Number of live calls on this node. */
  get size(): number {
    return this.calls.size;
  }

  /**
   * Starts a call from `sender`; returns its id. Glare answers the existing reverse call.
   * `calleeBusy` is the cluster's answer to whether the callee is in a call; without it this
   * node's calls decide. Until the call exists, an offer for it waits (see `inviting`).
   */
  invite(
    sender: Sender,
    cmd: InviteCommand,
    calleeBusy?: boolean,
  ): Promise<{ callId: string; glare?: true }> {
    return this.inviting.track(sender.userId, cmd.callee, this.place(sender, cmd, calleeBusy));
  }

  /** The invite itself. */
  private async place(
    sender: Sender,
    cmd: InviteCommand,
    calleeBusy?: boolean,
  ): Promise<{ callId: string; glare?: true }> {
    if (cmd.callee === sender.userId) throw AppError.selfCall();
    const glare = findGlare(this.states(sender.userId), sender.userId, cmd.callee);
    if (glare) {
      const call = this.calls.get(glare.callId)!;
      this.input(call, { type: 'accept', device: deviceOf(sender) }, undefined, sender);
      return { callId: glare.callId, glare: true };
    }
    this.checkRingingCap(sender.userId);
    // Counted while the directory answers, so that a burst of invites cannot pass the cap.
    const devices = await this.whileInviting(sender.userId, () =>
      this.o.directory.devices(cmd.callee),
    );
    const busy =
      this.o.calls.busyPolicy === 'reject' &&
      (calleeBusy ?? (this.byUser.get(cmd.callee)?.size ?? 0) > 0);
    const callId = `${this.o.nodeId}.${randomUUID()}`;
    const now = this.clock();
    const t = startCall(
      {
        callId,
        media: cmd.media,
        caller: {
          userId: sender.userId,
          deviceId: sender.deviceId,
          clientType: sender.clientType,
          name: sender.name,
        },
        callee: cmd.callee,
        keepCalling: cmd.keepCalling,
        calleeDevices: devices.map(({ userId, deviceId, clientType }) => ({
          userId,
          deviceId,
          clientType,
        })),
        calleeBusy: busy,
      },
      now,
    );
    const call: LiveCall = {
      state: t.state,
      start: {
        callId,
        caller: sender.userId,
        callerDevice: sender.deviceId,
        callee: cmd.callee,
        media: cmd.media,
        createdAt: now,
        ownerNode: this.o.nodeId,
      },
      ringTimer: null,
      route: new RelayRoute(t.state, this.o.delivery),
      callerClient: sender.client,
      media: { connectedAt: null, failedReason: null },
    };
    this.o.metrics.callsStarted.inc();
    this.logCall('invite', call, sender, { media: cmd.media, devices: devices.length });
    this.track(call);
    this.apply(call, cmd.origin ? withOrigin(t, cmd.origin, sender.userId) : t);
    return { callId };
  }

  /** `origin`: the chat-protobuf message this accept came as, forwarded to the caller. */
  accept(sender: Sender, call: CallSelector, origin?: ChatOrigin): void {
    const device = deviceOf(sender);
    this.input(this.resolve(sender, call), { type: 'accept', device }, origin, sender);
  }

  /** `origin`: the chat-protobuf message this reject came as, forwarded to the caller. */
  reject(sender: Sender, call: CallSelector, origin?: ChatOrigin): void {
    const device = deviceOf(sender);
    this.input(this.resolve(sender, call), { type: 'reject', device }, origin, sender);
  }

  hangup(sender: Sender, cmd: HangupCommand): void {
    const device = deviceOf(sender);
    const input: CallInput = cmd.reason
      ? { type: 'hangup', device, reason: cmd.reason }
      : { type: 'hangup', device };
    this.input(this.resolve(sender, cmd.call), input, cmd.origin, sender);
  }

  /**
   * One call event in the chat-protobuf spec's log shape (`webrtc_call_*`, snake_case ids,
   * `metadata` of the device that acted). `end` has the caller's device: it may have no actor.
   */
  private logCall(
    what: 'invite' | 'accept' | 'reject' | 'hangup' | 'media' | 'end',
    call: LiveCall,
    by: Pick<Sender, 'client'> | undefined,
    extra: Record<string, unknown> = {},
  ): void {
    const { callId, caller, callee } = call.start;
    this.log.info(
      {
        event: `webrtc_call_${what}`,
        caller,
        callee,
        call_id: callId,
        metadata: { user_agent: by?.client?.userAgent ?? null, ip: by?.client?.ip ?? null },
        ...extra,
      },
      `call ${what}`,
    );
  }

  /**
   * A party's device reports the call's peer-to-peer media (the server cannot see it). The
   * first `connected` counts (a failure before it was then recovered, e.g. by an ICE restart);
   * a failure counts only while none connected. Stored on the record; the end counts it.
   */
  media(sender: Sender, cmd: MediaCommand): void {
    const call = this.resolve(sender, cmd.call);
    const s = call.state;
    const party = (d: DeviceRef | null) =>
      d !== null && d.userId === sender.userId && d.deviceId === sender.deviceId;
    if (!party(s.caller) && !party(s.answeredBy)) throw AppError.notInCall(s.callId);
    if (s.phase !== 'accepted' || !s.answeredBy || s.acceptedAt === null) {
      throw AppError.invalidState('the call is not answered');
    }
    const m = call.media;
    if (m.connectedAt !== null) return;
    const now = this.clock();
    if (cmd.state === 'connected') {
      // The device's clock, kept between the invite and now: it is only a report.
      m.connectedAt = Math.min(now, Math.max(s.createdAt, cmd.at ?? now));
      m.failedReason = null;
      this.o.metrics.connectSeconds.observe((m.connectedAt - s.createdAt) / 1000);
    } else if (m.failedReason === null) {
      m.failedReason = cmd.reason;
    } else return;
    this.logCall(
      'media',
      call,
      sender,
      m.connectedAt !== null
        ? { state: 'connected', connected_at: new Date(m.connectedAt).toISOString() }
        : { state: 'failed', reason: m.failedReason },
    );
    const answer = {
      at: s.acceptedAt,
      device: s.answeredBy.deviceId,
      clientType: s.answeredBy.clientType,
    };
    this.o.records
      .media(call.start, answer, { ...m })
      .catch((err: unknown) => this.writeFailed(s, err));
  }

  /**
   * Relays offer/answer/ICE to the other party's device (see SignalRelay). One sent right
   * behind its invite waits for the call to exist.
   */
  relay(sender: Sender, cmd: RelayCommand): Promise<void> | undefined {
    let call: LiveCall;
    try {
      call = this.resolve(sender, cmd.call);
    } catch (err) {
      const invite = this.inviting.before(sender.userId, cmd.call);
      if (!invite) throw err;
      return invite.then(() => this.relay(sender, cmd));
    }
    this.o.relay.relay(call.route, sender, cmd);
    return undefined;
  }

  /** video_call handled_answer from a client: relayed to the sender's other devices. */
  async handled(sender: Sender, cmd: HandledCommand): Promise<void> {
    const call = this.resolve(sender, cmd.call);
    const s = call.state;
    if (sender.userId !== s.caller.userId && sender.userId !== s.callee) {
      throw AppError.notInCall(s.callId);
    }
    const devices = await this.o.directory.devices(sender.userId);
    for (const d of devices) {
      if (d.deviceId === sender.deviceId) continue;
      this.o.delivery.toDevice(d, {
        type: 'call:handled',
        callId: s.callId,
        caller: s.caller.userId,
        callee: s.callee,
        media: s.media,
        from: sender.userId,
      });
    }
  }

  /** A device connected (or resumed): a pending loss is cancelled; keepCalling calls ring it. */
  deviceOnline(device: DeviceRef): void {
    const timer = this.lostTimers.get(device.deviceId);
    if (timer) {
      this.timers.clearTimeout(timer);
      this.lostTimers.delete(device.deviceId);
    }
    for (const call of this.byUser.get(device.userId) ?? []) {
      this.input(call, { type: 'device_online', device });
    }
  }

  /**
   * A device's connection dropped: its calls react after the grace period unless it resumes.
   * `graceMs` is 0 when the gateway already waited for a resume (resumable sessions).
   */
  deviceOffline(device: DeviceRef, graceMs = this.o.calls.disconnectGraceMs): void {
    const calls = this.byUser.get(device.userId);
    if (!calls || calls.size === 0) return;
    const timer = this.timers.setTimeout(() => {
      this.lostTimers.delete(device.deviceId);
      for (const call of [...(this.byUser.get(device.userId) ?? [])]) {
        this.input(call, { type: 'device_lost', device });
      }
    }, graceMs);
    timer.unref();
    this.lostTimers.set(device.deviceId, timer);
  }

  /** Every call live on this node (the admin API's listing). */
  live(): CallState[] {
    return [...this.calls.values()].map((c) => c.state);
  }

  /** Ends a live call of this node with reason `admin`; its parties hear `call:ended`. */
  endByAdmin(callId: string): CallState {
    const call = this.calls.get(callId);
    if (!call) throw AppError.notFound('call');
    this.input(call, { type: 'abort', reason: 'admin' });
    return call.state;
  }

  /** Ends every live call with `shutdown` and waits until their records are written. */
  async shutdown(): Promise<void> {
    for (const call of [...this.calls.values()])
      this.input(call, { type: 'abort', reason: 'shutdown' });
    for (const t of this.lostTimers.values()) this.timers.clearTimeout(t);
    this.lostTimers.clear();
    await Promise.allSettled([...this.finishing]);
  }

  /**
   * Drops every live call without a word or a write: another node has already finalised them
   * (this node was taken for dead and its calls ended `node_lost` by a janitor). Returns how
   * many there were.
   */
  abandonAll(): number {
    const calls = [...this.calls.values()];
    for (const call of calls) this.untrack(call);
    for (const t of this.lostTimers.values()) this.timers.clearTimeout(t);
    this.lostTimers.clear();
    return calls.length;
  }

  /** Refuses a new call from a user whose outgoing calls already ringing reach the cap. */
  private checkRingingCap(userId: string): void {
    const max = this.o.caps.ringingCallsPerUser;
    let ringing = this.invitesInFlight.get(userId) ?? 0;
    if (ringing >= max) throw ringingCap(max);
    for (const call of this.byUser.get(userId) ?? []) {
      const s = call.state;
      if (s.phase === 'ringing' && s.caller.userId === userId && ++ringing >= max) {
        throw ringingCap(max);
      }
    }
  }

  /** Runs `work` with the user's invite counted as pending. */
  private async whileInviting<T>(userId: string, work: () => Promise<T>): Promise<T> {
    this.invitesInFlight.set(userId, (this.invitesInFlight.get(userId) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.invitesInFlight.get(userId) ?? 1) - 1;
      if (left > 0) this.invitesInFlight.set(userId, left);
      else this.invitesInFlight.delete(userId);
    }
  }

  /** Live call states of one user (for the busy check, glare and the REST API). */
  states(userId: string): CallState[] {
    return [...(this.byUser.get(userId) ?? [])].map((c) => c.state);
  }

  /** The state of a call live on this node. */
  get(callId: string): CallState | undefined {
    return this.calls.get(callId)?.state;
  }

  private resolve(sender: Sender, sel: CallSelector): LiveCall {
    if ('callId' in sel) {
      const call = this.calls.get(sel.callId);
      if (!call) throw AppError.notFound('call');
      return call;
    }
    const { callId } = selectCall(this.states(sender.userId), sender.userId, sel);
    return this.calls.get(callId)!;
  }

  /**
   * `origin`: the chat-protobuf message a command came as, forwarded to the other party.
   * `by`: the device whose command this is; its accept, reject or hangup is logged.
   */
  private input(call: LiveCall, input: CallInput, origin?: ChatOrigin, by?: Sender): void {
    const t = transition(call.state, input, this.clock());
    if (t.error) throw t.error;
    // Logged once the machine took it and before its effects, so a hangup precedes the end.
    if (by && (input.type === 'accept' || input.type === 'reject' || input.type === 'hangup')) {
      this.logCall(
        input.type,
        call,
        by,
        input.type === 'hangup' && input.reason ? { reason: input.reason } : {},
      );
    }
    this.apply(call, origin && 'device' in input ? withOrigin(t, origin, input.device.userId) : t);
  }

  private apply(call: LiveCall, t: Transition): void {
    const before = call.state.phase;
    call.state = t.state;
    call.route.view = t.state;
    if (before !== 'accepted' && t.state.phase === 'accepted') {
      this.o.watcher?.accepted(t.state, call.route.holdsOffer);
    }
    for (const e of t.effects) this.effect(call, e);
    if (before === 'ringing' && t.state.phase !== 'ringing') {
      this.o.metrics.ringSeconds.observe(
        ((t.state.ringEndedAt ?? this.clock()) - t.state.createdAt) / 1000,
      );
    }
    if (before !== 'accepted' && t.state.phase === 'accepted') {
      this.o.metrics.callsAnswered.inc();
      this.o.relay.answered(call.route);
    }
  }

  private effect(call: LiveCall, e: Effect): void {
    const s = call.state;
    switch (e.kind) {
      case 'send':
        this.o.delivery.toDevice(e.to, e.event);
        return;
      case 'persist_created':
        this.o.records.created(call.start).catch((err: unknown) => this.writeFailed(s, err));
        return;
      case 'persist_accepted':
        this.o.records
          .accepted(call.start, s.acceptedAt!, s.answeredBy!.deviceId, s.answeredBy!.clientType)
          .catch((err: unknown) => this.writeFailed(s, err));
        return;
      case 'ring_timer':
        if (call.ringTimer) this.timers.clearTimeout(call.ringTimer);
        call.ringTimer = e.on
          ? this.timers.setTimeout(() => {
              call.ringTimer = null;
              this.input(call, { type: 'ring_timeout' });
            }, this.o.calls.inviteTtlMs)
          : null;
        return;
      case 'finish': {
        const done = this.finish(call, e.announce).finally(() => this.finishing.delete(done));
        this.finishing.add(done);
        return;
      }
    }
  }

  /** Writes the record, then tells everyone: the end first, then the record to both users. */
  private async finish(call: LiveCall, announce: readonly SendEffect[]): Promise<void> {
    this.untrack(call);
    const s = call.state;
    this.o.metrics.callsEnded.labels(s.endReason ?? 'failed').inc();
    let outcome: 'connected' | 'failed' | 'unknown' | null = null;
    if (s.acceptedAt !== null) {
      this.o.metrics.callSeconds.observe(((s.endedAt ?? this.clock()) - s.acceptedAt) / 1000);
      const { connectedAt, failedReason } = call.media;
      outcome = connectedAt !== null ? 'connected' : failedReason !== null ? 'failed' : 'unknown';
      this.o.metrics.callsMedia.labels(outcome).inc();
    }
    this.logCall(
      'end',
      call,
      { client: call.callerClient },
      { reason: s.endReason, by: s.endedBy, ...(outcome ? { media_outcome: outcome } : {}) },
    );
    const written = this.o.records
      .ended(call.start, {
        callId: s.callId,
        reason: s.endReason ?? 'failed',
        acceptedAt: s.acceptedAt,
        endedAt: s.endedAt ?? this.clock(),
        ringMs: (s.ringEndedAt ?? s.createdAt) - s.createdAt,
        answeredDevice: s.answeredBy?.deviceId ?? null,
        answeredClientType: s.answeredBy?.clientType ?? null,
        mediaConnectedAt: call.media.connectedAt,
        mediaFailedReason: call.media.failedReason,
      })
      .catch((err: unknown) => void this.writeFailed(s, err));
    // The parties hear of the end once its record is written (history has it), but no later
    // than ANNOUNCE_WAIT_MS, and at once while the store refuses writes: a store that is down
    // must not keep a call ringing. The record event waits for the row, however long it takes.
    if (this.o.records.writeStatus().up) {
      let waited: Timer | undefined;
      await Promise.race([
        written,
        new Promise<void>((r) => (waited = this.timers.setTimeout(r, ANNOUNCE_WAIT_MS))),
      ]);
      this.timers.clearTimeout(waited);
    }
    for (const a of announce) this.o.delivery.toDevice(a.to, a.event);
    const record = await written;
    if (record) {
      const event = { type: 'call:record', record } as const;
      await Promise.all([
        this.o.delivery.toUser(s.caller.userId, event),
        this.o.delivery.toUser(s.callee, event),
      ]);
    }
  }

  private track(call: LiveCall): void {
    this.calls.set(call.state.callId, call);
    for (const u of [call.state.caller.userId, call.state.callee]) {
      let set = this.byUser.get(u);
      if (!set) this.byUser.set(u, (set = new Set()));
      set.add(call);
    }
    this.o.watcher?.started(call.state);
  }

  private untrack(call: LiveCall): void {
    if (call.ringTimer) this.timers.clearTimeout(call.ringTimer);
    call.ringTimer = null;
    this.calls.delete(call.state.callId);
    for (const u of [call.state.caller.userId, call.state.callee]) {
      const set = this.byUser.get(u);
      if (set?.delete(call) && set.size === 0) this.byUser.delete(u);
    }
    this.o.watcher?.ended(call.state);
  }

  /** A write the store refused for good (bad data, or its backlog full): the record is lost. */
  private writeFailed(s: CallState, err: unknown): void {
    this.log.error(
      { event: 'record_write_failed', callId: s.callId, err },
      'call record write refused: the record is lost',
    );
  }
}
