import { pipeLocally, type Router } from '../sfu/index.ts';

/** What is piped: a producer or a data producer, by id (its copy keeps the id). */
export type Piped = { producerId: string } | { dataProducerId: string };

/** Gives back one use of a pipe; idempotent. */
export type Release = () => void;

/** One producer piped to one router, and how many users there need it. */
interface Pipe {
  users: number;
  readonly ready: Promise<Opened>;
  /** Set when the pipe closed or was released for good: the entry is no longer the key's. */
  done: boolean;
}

/** The pipe consumer on the origin router (closing it closes the copy on the target). */
interface PipeEnd {
  close(): void;
  readonly observer: { once(event: 'close', listener: () => void): unknown };
}

/** An open pipe: its origin end, and what lets its media flow. */
interface Opened {
  end: PipeEnd;
  start(): Promise<void>;
}

const noop: Release = () => undefined;

/** Gives back two uses at once. */
export function releaseBoth(a: Release, b: Release): Release {
  return () => {
    a();
    b();
  };
}

/** Counts the pipes open (a metric). */
export interface PipeGauge {
  inc(): void;
  dec(): void;
}

/**
 * A meeting's pipes between its routers (mediasoup's `pipeToRouter`): a producer is piped to
 * another router once, when the first user there (a consumer, the active speaker observer)
 * needs it, and the pipe closes when the last of them releases it. A pipe that mediasoup
 * closes (its producer or one of its routers went) is forgotten, and what it fed closes with it.
 */
export class Pipes {
  private readonly pipes = new Map<string, Pipe>();
  /** Per key, the closing of its last pipe: a new pipe of the key waits for it. */
  private readonly closing = new Map<string, Promise<unknown>>();

  constructor(private readonly gauge: PipeGauge = { inc: noop, dec: noop }) {}

  /** Pipes open now. */
  get size(): number {
    return this.pipes.size;
  }

  /** Whether `what` is piped (or being piped) to `to`. */
  has(what: Piped, to: Router): boolean {
    return this.pipes.has(keyOf(what, to));
  }

  /**
   * Makes `what` (on `from`) available on `to`, piping it there unless it is already; resolves
   * with the release of this use. Nothing to do when `from` is `to`. A producer's media flows
   * through a new pipe at once, or with `later` only from `start` (a consumer that does not
   * forward yet: see sfu/local-pipe.ts).
   */
  async acquire(what: Piped, from: Router, to: Router, later = false): Promise<Release> {
    if (from === to) return noop;
    const key = keyOf(what, to);
    let pipe = this.pipes.get(key);
    if (pipe) {
      pipe.users++;
    } else {
      const previous = this.closing.get(key);
      pipe = { users: 1, done: false, ready: this.open(what, from, to, previous) };
      this.pipes.set(key, pipe);
      this.gauge.inc();
      const opened = pipe;
      opened.ready.then(
        ({ end }) => end.observer.once('close', () => this.forget(key, opened)),
        () => this.forget(key, opened),
      );
    }
    const mine = pipe;
    try {
      const opened = await mine.ready;
      if (!later) await opened.start();
    } catch (err) {
      this.release(key, mine);
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(key, mine);
    };
  }

  /** Lets the media of the pipe of `what` to `to` flow, if there is one (idempotent). */
  async start(what: Piped, to: Router): Promise<void> {
    const opened = await this.pipes.get(keyOf(what, to))?.ready.catch(() => null);
    await opened?.start();
  }

  private async open(
    what: Piped,
    from: Router,
    to: Router,
    previous: Promise<unknown> | undefined,
  ): Promise<Opened> {
    // The copy keeps the producer's id: it cannot exist twice on `to`.
    await previous;
    if ('producerId' in what) {
      const pipe = await pipeLocally(from, to, what.producerId);
      return { end: pipe.consumer, start: () => pipe.start() };
    }
    const { pipeDataConsumer } = await from.pipeToRouter({
      dataProducerId: what.dataProducerId,
      router: to,
    });
    return { end: pipeDataConsumer!, start: () => Promise.resolve() };
  }

  private release(key: string, pipe: Pipe): void {
    if (pipe.done || --pipe.users > 0) return;
    this.forget(key, pipe);
    const closed = pipe.ready.then(
      ({ end }) => end.close(),
      () => undefined,
    );
    this.closing.set(key, closed);
    void closed.then(() => {
      if (this.closing.get(key) === closed) this.closing.delete(key);
    });
  }

  private forget(key: string, pipe: Pipe): void {
    if (pipe.done) return;
    pipe.done = true;
    this.gauge.dec();
    if (this.pipes.get(key) === pipe) this.pipes.delete(key);
  }
}

function keyOf(what: Piped, to: Router): string {
  return 'producerId' in what
    ? `p:${what.producerId}>${to.id}`
    : `d:${what.dataProducerId}>${to.id}`;
}
