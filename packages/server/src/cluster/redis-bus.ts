import type { Redis } from 'ioredis';
import type { Logger } from '../observability/index.ts';
import type { Bus, BusMessage } from '../core/index.ts';
import { decode, encode } from './codec.ts';
import type { Keys } from './redis.ts';

/**
 * The bus over Redis pub/sub: one channel per node and one for broadcasts, JSON messages.
 * Messages sent in one turn of the event loop go out together, one PUBLISH per run of
 * messages to the same channel (a JSON array), in the order sent: under load a PUBLISH and
 * its delivery cost more than the message itself. Publishing while Redis is unreachable drops
 * the message (logged): cross-node work fails its way (a request times out) while each node
 * keeps serving its own users.
 */
export class RedisBus implements Bus {
  private readonly handlers: Array<(message: BusMessage) => void> = [];
  private readonly channels = new Set<string>();
  private queue: Array<{ channel: string; text: string }> = [];
  private readonly log: Logger;

  /** `pub` runs commands; `sub` is given over to subscriptions. */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly key: Keys,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'bus' });
    sub.on('message', (channel: string, text: string) => {
      if (this.channels.has(channel)) this.receive(text);
    });
  }

  /** Hands a message text (one message or a batch) to the handlers; from Redis or a link. */
  receive(text: string): void {
    let decoded: BusMessage | BusMessage[];
    try {
      decoded = decode(text);
    } catch (err) {
      this.log.error({ event: 'bus_bad_message', err }, 'undecodable bus message');
      return;
    }
    if (Array.isArray(decoded)) for (const m of decoded) this.handle(m);
    else this.handle(decoded);
  }

  /** Whether publishing can reach Redis now (else messages are dropped). */
  get connected(): boolean {
    return this.pub.status === 'ready';
  }

  publish(nodeId: string, message: BusMessage): void {
    this.send(this.key.channel(nodeId), message);
  }

  broadcast(message: BusMessage): void {
    this.send(this.key.broadcast, message);
  }

  subscribe(nodeId: string, handler: (message: BusMessage) => void): () => void {
    this.handlers.push(handler);
    for (const channel of [this.key.channel(nodeId), this.key.broadcast]) {
      if (this.channels.has(channel)) continue;
      this.channels.add(channel);
      this.sub
        .subscribe(channel)
        .catch((err: unknown) =>
          this.log.error({ event: 'bus_subscribe_failed', channel, err }, 'subscribe failed'),
        );
    }
    // The channels stay: the node's other handlers, or the next, listen on them.
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  close(): Promise<void> {
    this.handlers.length = 0;
    this.channels.clear();
    return Promise.resolve();
  }

  private handle(message: BusMessage): void {
    for (const h of this.handlers) {
      try {
        h(message);
      } catch (err) {
        this.log.error({ event: 'bus_handler_failed', kind: message.kind, err }, 'bus handler');
      }
    }
  }

  private send(channel: string, message: BusMessage): void {
    this.queue.push({ channel, text: encode(message) });
    if (this.queue.length === 1) setImmediate(this.flush);
  }

  /** Publishes what this turn queued: one PUBLISH per run of messages to one channel. */
  private readonly flush = (): void => {
    const q = this.queue;
    this.queue = [];
    for (let i = 0; i < q.length;) {
      const channel = q[i]!.channel;
      let j = i + 1;
      while (j < q.length && q[j]!.channel === channel) j++;
      const text =
        j - i === 1
          ? q[i]!.text
          : `[${q
              .slice(i, j)
              .map((m) => m.text)
              .join(',')}]`;
      this.pub
        .publish(channel, text)
        .catch((err: unknown) =>
          this.log.debug(
            { event: 'bus_publish_failed', messages: j - i, err: (err as Error).message },
            'bus messages dropped',
          ),
        );
      i = j;
    }
  };
}
