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

/** Gives a meeting up if ARGV[1] still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Takes KEYS[1] for ARGV[1] for ARGV[2] ms when vacant, renews it when ARGV[1] holds it. */
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

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

  async lease(name: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.eval(LEASE, 1, this.keys.lease(name), this.nodeId, ttlMs)) === 1;
    } catch (err) {
      this.log.warn({ event: 'lease_failed', name, err }, 'lease not renewed');
      return false;
    }
  }

  async releaseLease(name: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.lease(name), this.nodeId).catch(() => undefined);
  }
}
