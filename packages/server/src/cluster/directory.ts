import type { Redis } from 'ioredis';
import type { Logger } from '../observability/index.ts';
import type { PresenceDirectory, PresenceEntry } from '../core/index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';

/** Drops a device and, when it was the user's last, the user from the user list. */
const REMOVE = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`;

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

  async add(entry: PresenceEntry): Promise<void> {
    this.local.set(entry.deviceId, entry);
    await this.write(entry).catch((err: unknown) => this.failed('add', err));
  }

  async remove(userId: string, deviceId: string): Promise<void> {
    this.local.delete(deviceId);
    await this.redis
      .eval(
        REMOVE,
        3,
        this.key.presence(userId),
        this.key.presenceUsers,
        this.key.nodeDevices(this.nodeId),
        deviceId,
        userId,
        `${userId}\0${deviceId}`,
      )
      .catch((err: unknown) => this.failed('remove', err));
  }

  async devices(userId: string): Promise<PresenceEntry[]> {
    let all: Record<string, string>;
    try {
      all = await this.redis.hgetall(this.key.presence(userId));
    } catch (err) {
      this.failed('read', err);
      return [...this.local.values()].filter((e) => e.userId === userId);
    }
    const out: PresenceEntry[] = [];
    for (const json of Object.values(all)) {
      const e = parse(json);
      if (!e || !this.registry.isAlive(e.nodeId)) continue;
      // This node knows its own devices best (a stale entry may outlive a lost removal).
      if (e.nodeId === this.nodeId && !this.local.has(e.deviceId)) continue;
      out.push(e);
    }
    return out;
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
