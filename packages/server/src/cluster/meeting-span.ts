import type { Redis } from 'ioredis';
import type { Bus, MeetingSpanPort, SpanNotice, SpanRequest } from '../core/index.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';
import type { Rpc } from './rpc.ts';

/**
 * The cluster for meetings that span its nodes: a Redis set per meeting of the nodes serving
 * its peers (dead ones are skipped, as everywhere, by the registry's liveness), and the bus (a
 * direct link where there is one) for their news and requests.
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
    if (yes) await this.redis.sadd(k, this.nodeId);
    else await this.redis.srem(k, this.nodeId);
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
