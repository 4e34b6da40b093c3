import type { CallSelector } from '@parley/protocol';

const keyOf = (caller: string, callee: string): string => `${caller}\u0000${callee}`;

/**
 * Invites between their start and the moment their call exists (the callee's devices, or the
 * cluster's view of both users, are still being looked up). A stateless client sends its offer
 * and ICE right behind its invite: they wait here for the call instead of failing not_found.
 */
export class PendingInvites {
  private readonly pending = new Map<string, Promise<void>>();

  /** Registers `placing`, the invite from `caller` to `callee`, until it settles; returns it. */
  track<T>(caller: string, callee: string, placing: Promise<T>): Promise<T> {
    const key = keyOf(caller, callee);
    // Settles once the invite has created (or refused) its call, before anything waiting on it.
    const settled = placing.then(
      () => undefined,
      () => undefined,
    );
    this.pending.set(key, settled);
    void settled.then(() => {
      if (this.pending.get(key) === settled) this.pending.delete(key);
    });
    return placing;
  }

  /**
   * What a signal from `sender` naming `sel` must wait for: the invite it may belong to, while
   * that is still being placed (sender as the caller); undefined when there is none.
   */
  before(sender: string, sel: CallSelector): Promise<void> | undefined {
    const callee =
      'peer' in sel ? sel.peer : 'caller' in sel && sel.caller === sender ? sel.callee : undefined;
    return callee === undefined ? undefined : this.pending.get(keyOf(sender, callee));
  }
}
