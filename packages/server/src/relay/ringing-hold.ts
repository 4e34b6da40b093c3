import { EarlyIceBuffer } from './ice-buffer.ts';

/**
 * What a caller's device sends while its call still rings (offer and ICE sent with or right
 * behind the invite, as stateless clients do), held for the device that will answer: the
 * latest offer (a later one replaces it, as setLocalDescription would) and a bounded number of
 * candidates for at most the ring lifetime. Released on accept; dropped with the call.
 */
export class RingingHold<Sdp, Ice> {
  private offer: Sdp | null = null;
  private readonly ice: EarlyIceBuffer<Ice>;

  constructor(ttlMs: number) {
    this.ice = new EarlyIceBuffer<Ice>(ttlMs);
  }

  /** Whether an offer is held (it goes to the answering device before anything else). */
  get hasOffer(): boolean {
    return this.offer !== null;
  }

  holdOffer(offer: Sdp): void {
    this.offer = offer;
  }

  /** Holds one candidate; returns how many were dropped (expired, or the oldest past the cap). */
  holdIce(ice: Ice, now: number): number {
    return this.ice.hold(ice, now);
  }

  /** The held offer and the candidates still fresh, in arrival order; the hold is emptied. */
  release(now: number): { offer: Sdp | null; ice: Ice[] } {
    const offer = this.offer;
    this.offer = null;
    return { offer, ice: this.ice.release(now) };
  }
}
