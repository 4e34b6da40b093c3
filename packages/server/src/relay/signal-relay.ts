import {
  AppError,
  candidateJson,
  sdpJson,
  type DeviceRef,
  type IceCandidate,
  type ChatOrigin,
  type RelayCommand,
} from '@parley/protocol';
import type { Clock } from '../core/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import { EarlyIceBuffer } from './ice-buffer.ts';
import { RingingHold } from './ringing-hold.ts';
import type { RelayRoute } from './relay-route.ts';
import { signalTarget } from './route.ts';

/** What the relay needs: its bounds, its counters, and time. */
export interface SignalRelayOptions {
  /** How long ICE that came before any offer is held. */
  iceBufferMs: number;
  /** How long the caller's offer and ICE are held while the call rings (its ring lifetime). */
  ringTtlMs: number;
  metrics: Pick<Metrics, 'relayedOffer' | 'relayedAnswer' | 'relayedIce' | 'setupSeconds'>;
  log: Logger;
  clock: Clock;
}

/**
 * THE relay of offer/answer/ICE between a call's two devices (caller's device ⇄ the device
 * that answered), the same on the owner node and on the nodes of the devices: the check, the
 * early-ICE hold, the ringing hold, the SDP literal passed through, and the relayed event.
 * Where the event then goes is the route's delivery.
 */
export class SignalRelay {
  private readonly log: Logger;

  constructor(private readonly o: SignalRelayOptions) {
    this.log = o.log.child({ mod: 'relay' });
  }

  /**
   * Relays one command of `sender` along `route` (the hot path: one check, one event). The
   * caller's offer and ICE while the call rings are held for the device that will answer.
   */
  relay(route: RelayRoute, sender: DeviceRef, cmd: RelayCommand): void {
    const s = route.view;
    const now = this.o.clock();
    if (s.phase === 'ringing' && s.caller.deviceId === sender.deviceId) {
      this.holdWhileRinging(route, cmd, now);
      return;
    }
    const to = signalTarget(s, sender);
    if (cmd.type === 'call:ice') {
      this.ice(route, to, sender.userId, cmd.candidate, cmd.origin, now, cmd[candidateJson]);
      return;
    }
    route.delivery.toDevice(to, {
      type: cmd.type,
      callId: s.callId,
      caller: s.caller.userId,
      callee: s.callee,
      media: s.media,
      from: sender.userId,
      sdp: cmd.sdp,
      [sdpJson]: cmd[sdpJson],
      origin: cmd.origin,
    });
    if (cmd.type === 'call:offer') {
      this.o.metrics.relayedOffer.inc();
      this.offerPassed(route);
    } else {
      this.o.metrics.relayedAnswer.inc();
      if (!route.answerRelayed) {
        route.answerRelayed = true;
        this.o.metrics.setupSeconds.observe((now - s.createdAt) / 1000);
      }
    }
  }

  /**
   * The call was answered (`route.view` says by whom): what the caller sent while it rang goes
   * to the answering device, the offer first. ICE held without an offer waits for one.
   */
  answered(route: RelayRoute): void {
    const held = route.ringingHold?.release(this.o.clock());
    route.ringingHold = null;
    const s = route.view;
    if (!held || !s.answeredBy) return;
    const to = s.answeredBy;
    const from = s.caller.userId;
    if (held.offer) {
      const offer = held.offer;
      route.delivery.toDevice(to, {
        type: 'call:offer',
        callId: s.callId,
        caller: s.caller.userId,
        callee: s.callee,
        media: s.media,
        from,
        sdp: offer.sdp,
        [sdpJson]: offer[sdpJson],
        origin: offer.origin,
      });
      this.o.metrics.relayedOffer.inc();
      route.offerRelayed = true;
    }
    const now = this.o.clock();
    for (const ice of held.ice) this.ice(route, to, from, ice.candidate, ice.origin, now);
  }

  /**
   * An offer of the call went through (relayed here, or arrived from the other device's
   * node): ICE held for want of one follows it, in order.
   */
  offerPassed(route: RelayRoute): void {
    if (route.offerRelayed) return;
    route.offerRelayed = true;
    const held = route.earlyIce?.release(this.o.clock()) ?? [];
    route.earlyIce = null;
    for (const ice of held) this.deliverIce(route, ice.to, ice.from, ice.candidate, ice.origin);
  }

  /** One candidate for `to`: relayed once an offer went through, held until then. */
  private ice(
    route: RelayRoute,
    to: DeviceRef,
    from: string,
    candidate: IceCandidate | null,
    origin: ChatOrigin | undefined,
    now: number,
    /** The candidate's JSON literal, for a candidate relayed at once (a held one drops it). */
    literal?: Uint8Array,
  ): void {
    if (route.offerRelayed) {
      this.deliverIce(route, to, from, candidate, origin, literal);
      return;
    }
    route.earlyIce ??= new EarlyIceBuffer(this.o.iceBufferMs);
    const dropped = route.earlyIce.hold({ to, from, candidate, origin }, now);
    if (dropped > 0) {
      this.log.warn(
        { event: 'ice_dropped', callId: route.view.callId, dropped },
        'early ICE expired',
      );
    }
  }

  private deliverIce(
    route: RelayRoute,
    to: DeviceRef,
    from: string,
    candidate: IceCandidate | null,
    origin: ChatOrigin | undefined,
    literal?: Uint8Array,
  ): void {
    const s = route.view;
    route.delivery.toDevice(to, {
      type: 'call:ice',
      callId: s.callId,
      caller: s.caller.userId,
      callee: s.callee,
      media: s.media,
      from,
      candidate,
      [candidateJson]: literal,
      origin,
    });
    this.o.metrics.relayedIce.inc();
  }

  /** The caller's offer or ICE while ringing: held for the answering device. */
  private holdWhileRinging(route: RelayRoute, cmd: RelayCommand, now: number): void {
    const callId = route.view.callId;
    const hold = (route.ringingHold ??= new RingingHold(this.o.ringTtlMs));
    if (cmd.type === 'call:ice') {
      const dropped = hold.holdIce(cmd, now);
      if (dropped > 0) {
        this.log.warn({ event: 'ice_dropped', callId, dropped }, 'held ICE dropped');
      }
      return;
    }
    // The caller has nothing to answer before the callee does.
    if (cmd.type === 'call:answer') {
      throw AppError.invalidState('call has not been answered yet', { callId });
    }
    hold.holdOffer(cmd);
  }
}
