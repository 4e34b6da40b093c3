import type { Redis } from 'ioredis';
import type { Bus, MeetingSpanPort, SpanNotice, SpanRequest } from '../core/index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';
import type { Rpc } from './rpc.ts';

/**
 * Takes a dead node out of the node set of every meeting it served, and drops its list of them,
 * in one step (a node set never lists a node whose list is gone). KEYS[1]: its list; ARGV[1]:
 * the node sets' key prefix; ARGV[2]: the node.
 */
const FORGET = `
local meetings = redis.call('SMEMBERS', KEYS[1])
for _, m in ipairs(meetings) do redis.call('SREM', ARGV[1] .. m, ARGV[2]) end
redis.call('DEL', KEYS[1])
return #meetings
`;

/**
 * The janitor's part for meetings that span the nodes: `dead` leaves every meeting's node set
 * (found through its own list, not a scan); resolves with how many it was in.
 */
export async function forgetNodeMeetings(redis: Redis, keys: Keys, dead: string): Promise<number> {
  return (await redis.eval(
    FORGET,
    1,
    keys.nodeMeetings(dead),
    keys.meetingNodes(''),
    dead,
  )) as number;
}

/**
 * The cluster for meetings that span its nodes: a Redis set per meeting of the nodes serving
 * its peers (dead ones are skipped, as everywhere, by the registry's liveness, and removed by
 * the janitor through each node's list of its meetings), and the bus (a direct link where there
 * is one) for their news and requests.
 */
export class RedisMeetingSpan implements MeetingSpanPort {
  constructor(
    readonly nodeId: string,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly registry: Pick<NodeRegistry, 'isAlive'>,
    private readonly bus: Bus,
    private readonly rpc: Rpc,
  ) {}

  async serving(meetingId: string, yes: boolean): Promise<void> {
    const k = this.keys.meetingNodes(meetingId);
    const mine = this.keys.nodeMeetings(this.nodeId);
    // Both or neither: the janitor finds a node's sets through its list.
    const tx = this.redis.multi();
    if (yes) tx.sadd(k, this.nodeId).sadd(mine, meetingId);
    else tx.srem(k, this.nodeId).srem(mine, meetingId);
    const failed = (await tx.exec())?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  async nodes(meetingId: string): Promise<string[]> {
    const members = await this.redis.smembers(this.keys.meetingNodes(meetingId));
    return members.filter((n) => n !== this.nodeId && this.registry.isAlive(n));
  }

  tell(nodeId: string, notice: SpanNotice): void {
    this.bus.publish(nodeId, { ...notice, from: this.nodeId });
  }

  ask(nodeId: string, request: SpanRequest): Promise<unknown> {
    return this.rpc.ask(nodeId, (corr, replyTo) => ({ ...request, corr, replyTo }));
  }
}
