import type {
  ChatOrigin,
  DeviceRef,
  IceCandidate,
  IceCommand,
  IceEvent,
  Media,
  SdpCommand,
  SdpEvent,
} from '@parley/protocol';
import type { EarlyIceBuffer } from './ice-buffer.ts';
import type { RingingHold } from './ringing-hold.ts';
import type { SignalView } from './route.ts';

/** What the relay reads of a call: who talks to whom, and what relayed events carry. */
export interface RouteView extends SignalView {
  readonly media: Media;
  /** Epoch ms the call was invited (setup time is measured from it). */
  readonly createdAt: number;
}

/**
 * How relayed events reach a device: the node's Delivery when the call lives here, or one
 * that moves them to the device's node over the bus. The relay does not know which.
 */
export interface SignalDelivery {
  toDevice(to: DeviceRef, event: SdpEvent | IceEvent): void;
}

/** ICE sent before any offer of its call went through, held for the device it is for. */
export interface HeldIce {
  to: DeviceRef;
  from: string;
  candidate: IceCandidate | null;
  origin: ChatOrigin | undefined;
}

/**
 * One call's route as the relay keeps it, on the node that owns the call and on the nodes of
 * its two talking devices alike: the call as it stands (`view`, replaced as it changes), where
 * its events go, and the relay's own state (what went through, what is held).
 */
export class RelayRoute {
  /** An offer of this call went through (sent or received here): ICE need not wait. */
  offerRelayed = false;
  answerRelayed = false;
  /** ICE that came before any offer; null until some does. */
  earlyIce: EarlyIceBuffer<HeldIce> | null = null;
  /** What the caller's device sent while the call rang; null until it sends something. */
  ringingHold: RingingHold<SdpCommand, IceCommand> | null = null;

  constructor(
    public view: RouteView,
    public delivery: SignalDelivery,
  ) {}

  /** Whether the caller's device sent an offer while ringing that the answering device gets. */
  get holdsOffer(): boolean {
    return this.ringingHold?.hasOffer === true;
  }
}
