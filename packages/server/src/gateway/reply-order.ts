/**
 * Keeps one connection's answers in the order of its requests: an answer that is ready (a
 * decode error, a synchronous result) waits behind an earlier request's answer that is still
 * being worked out. Nothing is chained while no answer is pending, so the usual path costs a
 * null check.
 */
export class ReplyOrder<F> {
  /** Settles once every answer handed in so far has been delivered; null when none waits. */
  private tail: Promise<void> | null = null;

  constructor(
    /** Writes one answer to the client. */
    private readonly deliver: (frame: F) => void,
    /** An answer that could not be worked out or delivered (logged: nothing else can be sent). */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Whether an earlier answer is still awaited (a caller may skip making a closure if not). */
  get pending(): boolean {
    return this.tail !== null;
  }

  /** Resolves once every answer handed in so far is out, or after `timeoutMs` at the latest. */
  idle(timeoutMs: number): Promise<void> {
    if (this.tail === null) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([this.tail, late]).finally(() => clearTimeout(timer));
  }

  /** Delivers `frame` now, or after the answers still awaited. */
  send(frame: F): void {
    if (this.tail === null) this.deliver(frame);
    else this.chain(frame);
  }

  /** Delivers the answer `frame` settles to once it has, and every earlier answer is out. */
  sendLater(frame: Promise<F>): void {
    this.chain(frame);
  }

  private chain(frame: F | Promise<F>): void {
    // Settled into what to do at once, so that a rejection is handled (not left unhandled while
    // an earlier answer is awaited) and still waits its turn. Neither promise below rejects.
    const next = Promise.resolve(frame).then(
      (f) => () => this.deliver(f),
      (err: unknown) => () => this.onError(err),
    );
    const link: Promise<void> = Promise.all([this.tail, next])
      .then(([, out]) => out())
      .catch(this.onError)
      .finally(() => {
        if (this.tail === link) this.tail = null;
      });
    this.tail = link;
  }
}
