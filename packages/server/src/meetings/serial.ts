/**
 * Runs async work one job at a time, in arrival order: the jobs of one meeting never
 * interleave, so every handler sees the room as the previous one left it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues `job`; settles as it does. A failing job does not stop the ones after it. */
  run<T>(job: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
