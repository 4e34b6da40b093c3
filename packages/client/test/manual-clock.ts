import type { CallClock, TimerHandle } from '../src/call/clock.ts';

interface Pending {
  at: number;
  fn: () => void;
  /** An interval's period; null for a timeout. */
  every: number | null;
}

/**
 * A CallClock that only moves when a test says so: its timers run, in time order, as
 * `advance` passes them, so a test of a call's timeouts takes no time and cannot race.
 */
export class ManualClock implements CallClock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Pending>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add({ at: this.t + ms, fn, every: null });
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add({ at: this.t + ms, fn, every: ms });
  }

  clearTimeout(timer: TimerHandle): void {
    this.timers.delete(timer as number);
  }

  clearInterval(timer: TimerHandle): void {
    this.timers.delete(timer as number);
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, running each timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, Pending] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      const [id, timer] = due;
      this.t = timer.at;
      if (timer.every === null) this.timers.delete(id);
      else timer.at += timer.every;
      timer.fn();
    }
    this.t = end;
  }

  private add(timer: Pending): number {
    const id = this.nextId++;
    this.timers.set(id, timer);
    return id;
  }
}
