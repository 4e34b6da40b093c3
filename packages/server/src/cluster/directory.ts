import type { Redis } from 'ioredis';
import type { Logger } from '../observability/index.ts';
import type { PresenceDirectory, PresenceEntry } from '../core/index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';

/** Adds a device; returns the user's other entries as they were (one step: see add()). */
const ADD = `
local before = redis.call('HVALS', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return before`;

/**
 * Drops a device and, when it was the user's last, the user from the user list; returns
 * whether it was there and the entries left (one step: see remove()).
 */
const REMOVE = `
local had = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return {had, redis.call('HVALS', KEYS[1])}`;

const parse = (json: string): PresenceEntry | null => {
  try {
    return JSON.parse(json) as PresenceEntry;
  } catch {
    return null;
  }
};

/**
 * Presence in Redis: a hash per user, deviceId → entry (device, nickname, node). An entry
 * lives as long as its node: entries of a node whose liveness expired are ignored at once and
 * removed by the janitor. This node's own entries are also kept here, so that it can register
 * them again after Redis comes back, and keep answering for its own users while it is away.
 */
export class RedisDirectory implements PresenceDirectory {
  private readonly local = new Map<string, PresenceEntry>();
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly key: Keys,
    private readonly registry: NodeRegistry,
    private readonly nodeId: string,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'presence' });
    registry.onReconnect(() => void this.restore());
  }

  /**
   * The entries read and the write are one script, so that two first devices of a user that
   * come at once on two nodes see each other in turn: one counts 1 (its user.online), not both 2.
   */
  async add(entry: PresenceEntry): Promise<number> {
    this.local.set(entry.deviceId, entry);
    const { userId, deviceId } = entry;
    try {
      const before = (await this.redis.eval(
        ADD,
        3,
        this.key.presence(userId),
        this.key.presenceUsers,
        this.key.nodeDevices(this.nodeId),
        deviceId,
        JSON.stringify(entry),
        userId,
        `${userId}\0${deviceId}`,
      )) as string[];
      return this.live(before).filter((e) => e.deviceId !== deviceId).length + 1;
    } catch (err) {
      this.failed('add', err);
      return this.localDevices(userId).length;
    }
  }

  async remove(userId: string, deviceId: string): Promise<number | null> {
    const had = this.local.delete(deviceId);
    try {
      const [removed, left] = (await this.redis.eval(
        REMOVE,
        3,
        this.key.presence(userId),
        this.key.presenceUsers,
        this.key.nodeDevices(this.nodeId),
        deviceId,
        userId,
        `${userId}\0${deviceId}`,
      )) as [number, string[]];
      return removed === 1 || had ? this.live(left).length : null;
    } catch (err) {
      this.failed('remove', err);
      return had ? this.localDevices(userId).length : null;
    }
  }

  async devices(userId: string): Promise<PresenceEntry[]> {
    try {
      return this.live(await this.redis.hvals(this.key.presence(userId)));
    } catch (err) {
      this.failed('read', err);
      return this.localDevices(userId);
    }
  }

  /** The entries of live nodes among `jsons`. */
  private live(jsons: string[]): PresenceEntry[] {
    const out: PresenceEntry[] = [];
    for (const json of jsons) {
      const e = parse(json);
      if (!e || !this.registry.isAlive(e.nodeId)) continue;
      // This node knows its own devices best (a stale entry may outlive a lost removal).
      if (e.nodeId === this.nodeId && !this.local.has(e.deviceId)) continue;
      out.push(e);
    }
    return out;
  }

  private localDevices(userId: string): PresenceEntry[] {
    return [...this.local.values()].filter((e) => e.userId === userId);
  }

  async users(): Promise<Array<{ userId: string; name: string; devices: number }>> {
    try {
      const ids = await this.redis.smembers(this.key.presenceUsers);
      const out: Array<{ userId: string; name: string; devices: number }> = [];
      for (const userId of ids) {
        const devices = await this.devices(userId);
        if (devices.length > 0)
          out.push({ userId, name: devices[0]!.name, devices: devices.length });
      }
      return out;
    } catch (err) {
      this.failed('read', err);
      const byUser = new Map<string, { userId: string; name: string; devices: number }>();
      for (const e of this.local.values()) {
        const u = byUser.get(e.userId);
        if (u) u.devices++;
        else byUser.set(e.userId, { userId: e.userId, name: e.name, devices: 1 });
      }
      return [...byUser.values()];
    }
  }

  /** A dead node's entries (the janitor's cleanup). */
  takeNode(nodeId: string): Promise<PresenceEntry[]> {
    return takeNodeDevices(this.redis, this.key, nodeId);
  }

  /** Registers every device of this node again (after Redis restarted or came back). */
  async restore(): Promise<void> {
    const entries = [...this.local.values()];
    await Promise.all(entries.map((e) => this.write(e))).then(
      () =>
        this.log.info({ event: 'presence_restored', devices: entries.length }, 'presence restored'),
      (err: unknown) => this.failed('restore', err),
    );
  }

  private async write(e: PresenceEntry): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key.presence(e.userId), e.deviceId, JSON.stringify(e))
      .sadd(this.key.presenceUsers, e.userId)
      .sadd(this.key.nodeDevices(this.nodeId), `${e.userId}\0${e.deviceId}`)
      .exec();
  }

  private failed(op: string, err: unknown): void {
    this.log.warn({ event: 'presence_redis_failed', op, err: (err as Error).message }, op);
  }
}

/** The presence entries a dead node left behind, removed as they are read (janitor). */
async function takeNodeDevices(redis: Redis, key: Keys, nodeId: string): Promise<PresenceEntry[]> {
  const members = await redis.smembers(key.nodeDevices(nodeId));
  const out: PresenceEntry[] = [];
  for (const m of members) {
    const [userId, deviceId] = m.split('\0') as [string, string];
    const json = await redis.hget(key.presence(userId), deviceId);
    const e = json ? parse(json) : null;
    if (e?.nodeId === nodeId) {
      out.push(e);
      await redis.eval(
        REMOVE,
        3,
        key.presence(userId),
        key.presenceUsers,
        key.nodeDevices(nodeId),
        deviceId,
        userId,
        m,
      );
    }
  }
  await redis.del(key.nodeDevices(nodeId));
  return out;
}
