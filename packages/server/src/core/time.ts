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

/**
 * When the frame being handled was read, or 0 when none is (see `frameClock`). Frames are
 * handled one at a time, synchronously: `handlingFrame` … `frameHandled` bracket that.
 */
let frameAt = 0;

/**
 * The time of the frame being handled, read once when its handling began; outside a frame's
 * handling (a timer, a store's answer, an awaited step), the wall clock's. A relayed message
 * asks for the time in three places (the connection, the rate limiter, the relay), and on some
 * machines each read is a system call: about 70 ns on a Firecracker VM, a tenth of what
 * Parley's own work on a relayed ICE message costs. PeerJS reads no clock per message.
 */
export const frameClock: Clock = () => (frameAt === 0 ? Date.now() : frameAt);

/** A frame read at `at` (a `Date.now()`) is being handled: `frameClock` says `at` until… */
export function handlingFrame(at: number): void {
  frameAt = at;
}

/** …its handling is done (call it in a `finally`, so that a throw cannot leave it stale). */
export function frameHandled(): void {
  frameAt = 0;
}
