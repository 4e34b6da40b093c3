import type { Logger } from '../observability/index.ts';
import type { ActiveSpeakerObserver, Router } from '../sfu/index.ts';
import type { Pipes, Release } from './pipes.ts';

/** An audio producer the observer watches, and the pipe that brings it to the observer. */
interface Watched {
  readonly from: Router;
  release: Release | null;
}

/**
 * The meeting's one active speaker observer, on one of its routers (its home), watching every
 * audio producer of the meeting: those of other routers are piped to the home router.
 *
 * One observer rather than one per router: mediasoup's observer picks the dominant speaker by
 * comparing the producers it watches and reports no levels, so observers of parts of a meeting
 * could not be merged into the meeting's speaker. An Opus stream piped once per producer is
 * cheap. When the home router's worker dies, the observer moves to another router (`rehome`).
 */
export class Speaker {
  private readonly audio = new Map<string, Watched>();

  constructor(
    private observer: ActiveSpeakerObserver,
    private home: Router,
    private readonly pipes: Pipes,
    private readonly onDominant: (producerId: string) => void,
    private readonly log: Logger,
  ) {
    this.listen();
  }

  /** The router the observer is on. */
  get router(): Router {
    return this.home;
  }

  /** Watches an audio producer of router `from` (piped to the home router if need be). */
  async add(producerId: string, from: Router): Promise<void> {
    const watched: Watched = { from, release: null };
    this.audio.set(producerId, watched);
    await this.watch(producerId, watched);
  }

  /** Stops watching a producer that closed. */
  remove(producerId: string): void {
    this.audio.get(producerId)?.release?.();
    this.audio.delete(producerId);
  }

  /** Moves the observer to `router` (its home's worker died) and watches every producer again. */
  async rehome(router: Router): Promise<void> {
    this.home = router;
    this.observer = await router.createActiveSpeakerObserver();
    this.listen();
    for (const [producerId, watched] of this.audio) {
      watched.release?.();
      watched.release = null;
      if (!watched.from.closed) await this.watch(producerId, watched);
    }
  }

  private async watch(producerId: string, watched: Watched): Promise<void> {
    try {
      watched.release = await this.pipes.acquire({ producerId }, watched.from, this.home);
      // The producer may have closed while it was being piped.
      if (this.audio.get(producerId) !== watched) return watched.release();
      await this.observer.addProducer({ producerId });
    } catch (err) {
      this.log.warn({ event: 'speaker_add_failed', err }, 'active speaker observer refused');
    }
  }

  private listen(): void {
    const observer = this.observer;
    observer.on('dominantspeaker', ({ producer }) => {
      if (observer === this.observer) this.onDominant(producer.id);
    });
  }
}
