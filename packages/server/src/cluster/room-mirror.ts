import type { Redis } from 'ioredis';
import type { Logger } from '../observability/index.ts';
import type { RoomMembership, RoomMirror, RoomPair, RoomSnapshot } from '../core/index.ts';
import type { Keys } from './redis.ts';

/**
 * The rooms' state in Redis, written by the node that holds the rooms and read by the node
 * that takes them over when it dies: two hashes, memberships by `roomId\0deviceId` and pairs
 * by `from\0to`. Writes are fire-and-forget on the node's pipelined connection.
 */
export class RedisRoomMirror implements RoomMirror {
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'room-mirror' });
  }

  joined(m: RoomMembership): void {
    this.redis
      .hset(this.keys.roomMembers, `${m.roomId}\0${m.deviceId}`, JSON.stringify(m))
      .catch((err: unknown) => this.failed('joined', err));
  }

  left(roomId: string, deviceId: string): void {
    this.redis
      .hdel(this.keys.roomMembers, `${roomId}\0${deviceId}`)
      .catch((err: unknown) => this.failed('left', err));
  }

  paired(p: RoomPair): void {
    this.redis
      .hset(this.keys.roomPairs, `${p.from}\0${p.to}`, p.phase)
      .catch((err: unknown) => this.failed('paired', err));
  }

  unpaired(from: string, to: string): void {
    this.redis
      .hdel(this.keys.roomPairs, `${from}\0${to}`)
      .catch((err: unknown) => this.failed('unpaired', err));
  }

  async load(): Promise<RoomSnapshot> {
    const [members, pairs] = await Promise.all([
      this.redis.hgetall(this.keys.roomMembers),
      this.redis.hgetall(this.keys.roomPairs),
    ]);
    return {
      members: Object.values(members).map((json) => JSON.parse(json) as RoomMembership),
      pairs: Object.entries(pairs).map(([key, phase]) => {
        const [from, to] = key.split('\0') as [string, string];
        return { from, to, phase: phase === 'answered' ? 'answered' : 'offered' };
      }),
    };
  }

  private failed(op: string, err: unknown): void {
    this.log.warn({ event: 'room_mirror_failed', op, err: (err as Error).message }, op);
  }
}
