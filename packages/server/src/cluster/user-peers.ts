import type { Redis } from 'ioredis';
import type { UserPeers } from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import { MemoryUserPeers } from './memory-user-peers.ts';
import type { Keys } from './redis.ts';

/**
 * Takes a slot when the user holds fewer than the cap: this node's slots with the new one
 * (ARGV[2]) plus ARGV[4], plus each other node's field whose liveness key is there. KEYS[1]:
 * the user's hash (node → slots); KEYS[2]: this node's set of users. ARGV: 1 this node, 2 its
 * slots with the new one, 3 the cap, 4 the extra, 5 the liveness keys' prefix, 6 the user.
 */
const TAKE = `
local held = tonumber(ARGV[2]) + tonumber(ARGV[4])
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] and redis.call('EXISTS', ARGV[5] .. fields[i]) == 1 then
    held = held + tonumber(fields[i + 1])
  end
end
if held > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[6])
return 1
`;

/** Sets this node's slots of a user (ARGV[2]; 0 removes them). Keys as in TAKE; ARGV[3] the user. */
const SET = `
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[3])
end
return 0
`;

/**
 * Removes a node's slots from every user's hash it is in, and its set of users, in one step.
 * KEYS[1]: its set; ARGV[1]: the users' hashes' key prefix; ARGV[2]: the node.
 */
const FORGET = `
local users = redis.call('SMEMBERS', KEYS[1])
for _, u in ipairs(users) do redis.call('HDEL', ARGV[1] .. u, ARGV[2]) end
redis.call('DEL', KEYS[1])
return #users
`;

/**
 * The janitor's part for the per-user peer cap: a dead node's slots go from every user's hash
 * (found through its own set of users, not a scan). Resolves with how many users it had peers of.
 */
export async function forgetNodePeers(redis: Redis, keys: Keys, node: string): Promise<number> {
  return (await redis.eval(
    FORGET,
    1,
    keys.nodeUserPeers(node),
    keys.userPeers(''),
    node,
  )) as number;
}

/**
 * Users' media peers across the nodes, for the per-user cap. Each node keeps its own slots in
 * memory and writes them, as absolute values, to a Redis hash per user (node → slots); a take
 * reads the other live nodes' fields and writes its own in one Lua script, so that joins on two
 * nodes at once cannot both pass the cap. A dead node's fields stop counting once its liveness
 * key expires and are removed by the janitor (through the node's set of users); a node that
 * starts or stops removes its own, and one taken for dead writes them again.
 *
 * A slot is counted here from the moment it is asked for, so that what this node writes (in the
 * order it sends, on one connection) always includes takes still in flight; a refused take then
 * writes the corrected value. Writes that fail (Redis down) are made good when it is back
 * (`reassert`); meanwhile a take that cannot reach Redis is checked against this node's slots
 * alone.
 */
export class RedisUserPeers implements UserPeers {
  private readonly here = new MemoryUserPeers();
  private readonly log: Logger;

  constructor(
    private readonly nodeId: string,
    private readonly redis: Redis,
    private readonly keys: Keys,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'user-peers' });
  }

  async take(userId: string, cap: number, extra: number): Promise<boolean> {
    const mine = this.here.adjust(userId, 1);
    let taken: boolean;
    try {
      const { keys } = this;
      taken =
        (await this.redis.eval(
          TAKE,
          2,
          keys.userPeers(userId),
          keys.nodeUserPeers(this.nodeId),
          this.nodeId,
          mine,
          cap,
          extra,
          keys.alive(''),
          userId,
        )) === 1;
    } catch (err) {
      this.log.debug({ event: 'user_peers_unchecked', err }, 'peer cap checked on this node only');
      taken = mine + extra <= cap;
    }
    if (!taken) this.give(userId);
    return taken;
  }

  give(userId: string): void {
    this.write(userId, this.here.adjust(userId, -1));
  }

  /**
   * Writes every slot of this node again, after its own fields may have been lost or removed
   * (Redis came back, perhaps empty; the janitor took this node for dead).
   */
  reassert(): void {
    const tx = this.redis.multi().eval(FORGET, 1, ...this.forgetArgs());
    for (const [userId, n] of this.here.entries()) tx.eval(SET, 2, ...this.setArgs(userId, n));
    tx.exec().catch((err: unknown) =>
      this.log.warn({ event: 'user_peers_reassert_failed', err }, 'peer slots not rewritten'),
    );
  }

  /**
   * Removes this node's slots: when it starts (a previous run under its id may have left some)
   * and when it stops (its peers are gone).
   */
  async forget(): Promise<void> {
    await this.redis
      .eval(FORGET, 1, ...this.forgetArgs())
      .catch((err: unknown) =>
        this.log.warn({ event: 'user_peers_forget_failed', err }, 'peer slots left to the janitor'),
      );
  }

  private write(userId: string, n: number): void {
    this.redis
      .eval(SET, 2, ...this.setArgs(userId, n))
      .catch((err: unknown) =>
        this.log.debug({ event: 'user_peers_write_failed', err }, 'rewritten on reconnect'),
      );
  }

  private setArgs(userId: string, n: number): [string, string, string, number, string] {
    const { keys, nodeId } = this;
    return [keys.userPeers(userId), keys.nodeUserPeers(nodeId), nodeId, n, userId];
  }

  private forgetArgs(): [string, string, string] {
    const { keys, nodeId } = this;
    return [keys.nodeUserPeers(nodeId), keys.userPeers(''), nodeId];
  }
}
