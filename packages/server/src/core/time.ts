/** Time, injected so that tests and the machine never read the wall clock themselves. */
export type Clock = () => number;

/** A pending timer, as `Timers.setTimeout` returns it. */
export interface Timer {
  /** The timer alone does not keep the process alive. */
  unref(): unknown;
}

/** Timers, injected so that a test can run a domain's timeouts without waiting for them. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  /** Cancels a timer of this same `Timers` (a no-op once it has fired). */
  clearTimeout(timer: Timer | undefined): void;
}

/** Node's own timers. */
export const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  // Every Timer this object hands out is one of Node's.
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
