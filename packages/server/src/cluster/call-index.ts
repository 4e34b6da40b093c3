import type { Redis } from 'ioredis';
import type { CallIndex, CallStart, CallSummary } from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';

/** The node that owns a call: its id is `<nodeId>.<uuid>`. */
export function ownerOf(callId: string): string {
  const dot = callId.indexOf('.');
  return dot > 0 ? callId.slice(0, dot) : '';
}

/**
 * The cluster-wide user → live calls index (busy checks, glare, selectors without a call id).
 * Each owner writes its calls (one hash per user, callId → summary); readers ignore calls whose
 * owner is dead, and the janitor removes them.
 */
export class RedisCallIndex implements CallIndex {
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly key: Keys,
    private readonly registry: NodeRegistry,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'call-index' });
  }

  /**
   * Adds or updates a call under both of its users; with `start`, also in its owner's list.
   * Issued before the call rings anyone on another node, whose ringing the bus publishes at
   * the end of the event loop's turn, after ioredis has written what this turn issued here:
   * a call that a dead owner rang elsewhere is always on that list.
   */
  put(s: CallSummary, start?: CallStart): void {
    const json = JSON.stringify(s);
    const m = this.redis
      .multi()
      .hset(this.key.calls(s.caller), s.callId, json)
      .hset(this.key.calls(s.callee), s.callId, json);
    if (start) m.hset(this.key.nodeCalls(start.ownerNode), s.callId, JSON.stringify(start));
    m.exec().catch((err: unknown) => this.failed('put', err));
  }

  /** Removes calls from the index and their owners' lists. */
  drop(calls: ReadonlyArray<Pick<CallSummary, 'callId' | 'caller' | 'callee'>>): Promise<void> {
    if (calls.length === 0) return Promise.resolve();
    const m = this.redis.multi();
    for (const c of calls) {
      m.hdel(this.key.calls(c.caller), c.callId)
        .hdel(this.key.calls(c.callee), c.callId)
        .hdel(this.key.nodeCalls(ownerOf(c.callId)), c.callId);
    }
    return m.exec().then(
      () => undefined,
      (err: unknown) => this.failed('drop', err),
    );
  }

  /** How the calls live on `nodeId` started, as that node listed them. */
  async startsOf(nodeId: string): Promise<CallStart[]> {
    const all = await this.redis.hgetall(this.key.nodeCalls(nodeId));
    return Object.values(all).map((json) => JSON.parse(json) as CallStart);
  }

  /** Removes a dead node's list once the janitor is done with it. */
  async forgetNode(nodeId: string): Promise<void> {
    await this.redis.del(this.key.nodeCalls(nodeId));
  }

  /** The live calls of a user on every live node. Rejects when Redis cannot be reached. */
  async of(userId: string): Promise<CallSummary[]> {
    const all = await this.redis.hgetall(this.key.calls(userId));
    const out: CallSummary[] = [];
    for (const json of Object.values(all)) {
      const s = JSON.parse(json) as CallSummary;
      if (this.registry.isAlive(ownerOf(s.callId))) out.push(s);
    }
    return out;
  }

  private failed(op: string, err: unknown): void {
    this.log.warn({ event: 'call_index_failed', op, err: (err as Error).message }, op);
  }
}
