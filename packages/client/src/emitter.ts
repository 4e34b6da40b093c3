/**
 * A small typed event emitter (mediasoup's EnhancedEventEmitter is the model): event names and
 * argument tuples come from an `Events` map, and a listener that throws cannot break the SDK's
 * own state, because emit() reports the error instead of letting it unwind the caller.
 */

/** Maps each event name to the tuple of its listener's arguments. */
export type EventMap = { [event: string]: unknown[] };

/** A listener of event `K` in map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/** The typed emitter every SDK object extends. */
export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Array<Listener<E, keyof E>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): () => void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<E, keyof E>);
    this.listeners.set(event, list);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: Listener<E, K>): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, listener: Listener<E, K>): void {
    const list = this.listeners.get(event);
    if (!list) return;
    const i = list.indexOf(listener as Listener<E, keyof E>);
    if (i >= 0) list.splice(i, 1);
  }

  /** Resolves with the arguments of the next `event`. */
  next<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(event, (...args) => resolve(args)));
  }

  /** Calls every listener of `event`; a listener that throws is reported and skipped. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`parley: a listener of "${String(event)}" threw`, err);
      }
    }
  }
}
