import type { Redis } from 'ioredis';
import type { Placement } from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import { ownerOf } from './call-index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';

/** Claims a meeting's media room for ARGV[1] unless a live node (not ARGV[2]) holds it. */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return holder`;

/** Deletes KEYS[1] if it still holds ARGV[1] (a meeting given up by its node, a lease by its tenure). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Takes lease KEYS[1] for node ARGV[1] for ARGV[2] ms when vacant, with the next fencing token
 * (KEYS[2] counts them), or renews it when ARGV[1] holds it. The lease's value is
 * `<node> <token>`. Returns the token, or -1 when another node holds it.
 */
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder, token = string.match(cur, '^(.*) (%d+)$')
  if holder ~= ARGV[1] then return -1 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(token)
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token`;

/**
 * Placement over Redis: a call's owner is in its id; a meeting's media room is held by the
 * node that claimed it (a key, given up when the room closes, taken over when its holder is
 * dead); the rooms follow the registry's lease.
 */
export class RedisPlacement implements Placement {
  private readonly log: Logger;

  constructor(
    private readonly nodeId: string,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly registry: Pick<NodeRegistry, 'isAlive' | 'leaderWithin'>,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'placement' });
  }

  callOwner(callId: string): string {
    return ownerOf(callId);
  }

  async meetingNode(meetingId: string, claim: boolean): Promise<string> {
    const k = this.keys.meeting(meetingId);
    try {
      const holder = await this.redis.get(k);
      if (holder && this.registry.isAlive(holder)) return holder;
      if (!claim) return this.nodeId;
      return (await this.redis.eval(CLAIM, 1, k, this.nodeId, holder ?? '')) as string;
    } catch (err) {
      this.log.warn({ event: 'meeting_lookup_failed', meetingId, err }, 'meeting placement');
      return this.nodeId;
    }
  }

  meetingClosed(meetingId: string): void {
    this.redis
      .eval(RELEASE, 1, this.keys.meeting(meetingId), this.nodeId)
      .catch((err: unknown) =>
        this.log.warn({ event: 'meeting_release_failed', meetingId, err }, 'release failed'),
      );
  }

  async roomsNode(waitMs: number): Promise<string> {
    return (await this.registry.leaderWithin(waitMs)) ?? this.nodeId;
  }

  async lease(name: string, ttlMs: number): Promise<number | null> {
    const { keys } = this;
    try {
      const token = (await this.redis.eval(
        LEASE,
        2,
        keys.lease(name),
        keys.leaseToken(name),
        this.nodeId,
        ttlMs,
      )) as number;
      return token > 0 ? token : null;
    } catch (err) {
      this.log.warn({ event: 'lease_failed', name, err }, 'lease not renewed');
      return null;
    }
  }

  async leaseHeld(name: string, token: number): Promise<boolean> {
    try {
      return (await this.redis.get(this.keys.lease(name))) === `${this.nodeId} ${token}`;
    } catch (err) {
      this.log.warn({ event: 'lease_failed', name, err }, 'lease not checked');
      return false;
    }
  }

  async releaseLease(name: string, token: number): Promise<void> {
    await this.redis
      .eval(RELEASE, 1, this.keys.lease(name), `${this.nodeId} ${token}`)
      .catch(() => undefined);
  }
}
