import type { Redis } from 'ioredis';
import type { CallSummary } from '../calls/index.ts';
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
export class RedisCallIndex {
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly key: Keys,
    private readonly registry: NodeRegistry,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'call-index' });
  }

  /** Adds or updates a call under both of its users. */
  put(s: CallSummary): void {
    const json = JSON.stringify(s);
    this.redis
      .multi()
      .hset(this.key.calls(s.caller), s.callId, json)
      .hset(this.key.calls(s.callee), s.callId, json)
      .exec()
      .catch((err: unknown) => this.failed('put', err));
  }

  /** Removes calls from the index. */
  drop(calls: ReadonlyArray<Pick<CallSummary, 'callId' | 'caller' | 'callee'>>): Promise<void> {
    if (calls.length === 0) return Promise.resolve();
    const m = this.redis.multi();
    for (const c of calls)
      m.hdel(this.key.calls(c.caller), c.callId).hdel(this.key.calls(c.callee), c.callId);
    return m.exec().then(
      () => undefined,
      (err: unknown) => this.failed('drop', err),
    );
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
