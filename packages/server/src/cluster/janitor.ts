import type { Redis } from 'ioredis';
import type { EndedEvent } from '@parley/protocol';
import type { Bus, Delivery, PresenceDirectory, Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import { endSessionsOf, type CallRecordStore, type Db } from '../store/index.ts';
import type { RedisCallIndex } from './call-index.ts';
import { forgetNodeMeetings } from './meeting-span.ts';
import { forgetNodePeers } from './user-peers.ts';
import type { Keys } from './redis.ts';
import type { NodeRegistry } from './registry.ts';

/** What the janitor needs. */
export interface JanitorOptions {
  nodeId: string;
  redis: Redis;
  keys: Keys;
  registry: NodeRegistry;
  /**
   * The directory the gateway removes disconnected devices from: a dead node's go through it
   * too, so that they go offline as theirs do (user.offline for a user left with no device).
   */
  directory: Pick<PresenceDirectory, 'takeNode'>;
  index: RedisCallIndex;
  records: CallRecordStore;
  /** The shared database, whose sessions of a dead node are ended first. */
  db: Db;
  bus: Bus;
  delivery: Delivery;
  cluster: Pick<Config['cluster'], 'janitorIntervalMs' | 'nodeTtlMs'>;
  log: Logger;
}

/**
 * Cleans up after dead nodes. Every node looks; for each node whose liveness expired, one of
 * them wins a lock and: ends the dead node's live calls in the store (node_lost), including
 * those it had listed in the call index but not yet written a row for, and tells the
 * surviving parties, drops the calls from the index and their routes everywhere, removes the
 * node's presence entries and its users' media peer slots, and tells every node that those
 * devices are gone (rooms, meetings, calls owned elsewhere react as to a disconnect).
 *
 * A node only judges others after its own connection to Redis has been up for a whole liveness
 * TTL: after an outage, the others need that long to refresh their keys.
 */
export class Janitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly o: JanitorOptions) {
    this.log = o.log.child({ mod: 'janitor' });
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.o.cluster.janitorIntervalMs);
    this.timer.unref();
  }

  /** Stops sweeping and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over the dead nodes (also run by tests). */
  sweep(): Promise<void> {
    this.running ??= this.sweepDead().finally(() => (this.running = null));
    return this.running;
  }

  private async sweepDead(): Promise<void> {
    const { registry, redis, nodeId, cluster, keys } = this.o;
    if (registry.upForMs < cluster.nodeTtlMs) return;
    for (const dead of registry.dead()) {
      try {
        const won = await redis.set(keys.janitor(dead), nodeId, 'PX', 60_000, 'NX');
        if (won !== 'OK') continue;
        await this.cleanUp(dead);
        await registry.forget(dead);
      } catch (err) {
        this.log.warn({ event: 'janitor_failed', dead, err }, 'cleanup after a dead node failed');
      }
    }
  }

  private async cleanUp(dead: string): Promise<void> {
    const { redis, keys, records, index, bus, delivery } = this.o;
    const sessions = await endSessionsOf(this.o.db, dead).catch((err: unknown) => {
      this.log.warn({ event: 'fence_failed', dead, err }, 'could not end its database sessions');
      return 0;
    });
    const devices = await this.o.directory.takeNode(dead);
    const known = await index.startsOf(dead);
    const lost = await records.abandon(dead, 'node_lost', Date.now(), known);
    await index.drop([...known, ...lost.map((l) => l.start)]);
    await index.forgetNode(dead);
    // The meetings it served span the other nodes no longer (a no-op when meetings do not span).
    const meetings = await forgetNodeMeetings(redis, keys, dead);
    // Its media peers count against their users no more (they stopped with its liveness key).
    const peerUsers = await forgetNodePeers(redis, keys, dead);
    if (lost.length > 0)
      bus.broadcast({ kind: 'unroute', callIds: lost.map((l) => l.start.callId) });
    const gone: Sender[] = devices.map(({ userId, deviceId, clientType, name }) => ({
      userId,
      deviceId,
      clientType,
      name,
      grants: [],
    }));
    // Always: even a node without devices left may have held meetings' media rooms.
    bus.broadcast({ kind: 'node-lost', nodeId: dead, devices: gone });
    for (const { start, end, record } of lost) {
      const ended: EndedEvent = {
        type: 'call:ended',
        callId: start.callId,
        caller: start.caller,
        callee: start.callee,
        media: start.media,
        reason: 'node_lost',
        by: null,
      };
      // The caller's device was on the owner, as a rule; whoever survives hears it.
      delivery.toDevice(
        { userId: start.caller, deviceId: start.callerDevice, clientType: '' },
        ended,
      );
      if (end.answeredDevice) {
        delivery.toDevice(
          {
            userId: start.callee,
            deviceId: end.answeredDevice,
            clientType: end.answeredClientType ?? '',
          },
          ended,
        );
      } else {
        await delivery.toUser(start.callee, ended);
      }
      const event = { type: 'call:record', record } as const;
      await Promise.all([
        delivery.toUser(start.caller, event),
        delivery.toUser(start.callee, event),
      ]);
    }
    this.log.warn(
      {
        event: 'node_lost',
        dead,
        calls: lost.length,
        devices: devices.length,
        sessions,
        meetings,
        peerUsers,
      },
      'cleaned up after a dead node',
    );
  }
}
