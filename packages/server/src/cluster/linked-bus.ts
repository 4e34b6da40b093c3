import type { Bus, BusMessage } from '../core/index.ts';
import { encode } from './codec.ts';
import type { NodeLinks } from './links.ts';
import type { RedisBus } from './redis-bus.ts';

/**
 * The cluster's bus with direct links: a message for one node goes over the link to it when
 * one is open, else through Redis; broadcasts always go through Redis. See NodeLinks for how
 * the order of one node's messages to another is kept across the two paths.
 */
export class LinkedBus implements Bus {
  private watching = false;

  constructor(
    private readonly redis: RedisBus,
    private readonly links: NodeLinks,
  ) {
    links.onOpen = (nodeId, linkId, link) => {
      // With Redis unreachable nothing of this node's is on its way through it: the marker
      // may go first over the link itself, and the link carries on at once.
      if (redis.connected) redis.publish(nodeId, { kind: 'link-open', linkId });
      else link.sendMarker();
    };
    links.onMessage = (text) => redis.receive(text);
  }

  publish(nodeId: string, message: BusMessage): void {
    const link = this.links.to(nodeId);
    if (link) link.send(encode(message));
    else this.redis.publish(nodeId, message);
  }

  broadcast(message: BusMessage): void {
    this.redis.broadcast(message);
  }

  subscribe(nodeId: string, handler: (message: BusMessage) => void): () => void {
    if (!this.watching) {
      // First in line, so that a marker releases its link's messages before anything else.
      this.watching = true;
      this.redis.subscribe(nodeId, (m) => {
        if (m.kind === 'link-open') this.links.release(m.linkId);
        else if (m.kind === 'node-lost') this.links.drop(m.nodeId);
      });
    }
    // A marker is this bus's own business: the handlers see only what nodes sent them.
    return this.redis.subscribe(nodeId, (m) => {
      if (m.kind !== 'link-open') handler(m);
    });
  }

  async close(): Promise<void> {
    await this.links.close();
    await this.redis.close();
  }
}
