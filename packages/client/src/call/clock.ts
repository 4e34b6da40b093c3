/**
 * A timer as a {@link CallClock} hands it out: a number in a browser, an object in Node; only
 * the clear functions of the same clock take it.
 */
export type TimerHandle = object | number;

/**
 * The time and timers a {@link Call} runs on: the wall clock and the platform's timers by
 * default ({@link realClock}); a test hands in one it moves by hand, so that the media timeout
 * and the quality readings run without waiting for them.
 */
export interface CallClock {
  /** Epoch ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(timer: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(timer: TimerHandle): void;
}

type Platform = ReturnType<typeof setTimeout>;

/** `Date.now` and the platform's own timers. */
export const realClock: CallClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  // Every handle this clock hands out is one of the platform's.
  clearTimeout: (timer) => clearTimeout(timer as Platform),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as Platform),
};
