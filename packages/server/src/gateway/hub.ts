import type { HeartbeatTimes } from './heartbeat.ts';
import type { TokenRef } from '../auth/index.ts';
import type { DeviceRef, ServerEvent } from '@parley/protocol';
import type { Bus, Delivery, Sender } from '../core/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';

/** A device's connection as the hub sees it, whatever carries it (WebSocket, socket.io). */
export interface DeviceConnection {
  readonly sender: Sender;
  /** Encodes and sends an event, if the connection's dialect shows it. */
  sendEvent(event: ServerEvent): void;
  close(code: number, reason: string): void;
  /**
   * Closes the connection and ends the device at once (a revoked token, an administrator's
   * disconnect): a resumable session does not wait for a resume.
   */
  kick(code: number, reason: string): void;
  /**
   * The tokens the connection stands on: the one it was opened with and those of its
   * `auth:refresh` (see MAX_CREDENTIALS); revoking any of them closes it.
   */
  readonly credentials: readonly TokenRef[];
  /** One heartbeat tick: pings the peer when due, or drops it when a ping went unanswered. */
  heartbeat(now: number, beat: HeartbeatTimes): void;
}

/**
 * The connections of this node by device, and delivery to any device: locally when it is
 * connected here, else over the bus to the node the directory names.
 */
export class Hub implements Delivery {
  private readonly byDevice = new Map<string, DeviceConnection>();
  private readonly byUser = new Map<string, Set<DeviceConnection>>();
  /** deviceId → the node its last forwarded command came from (bounded). */
  private readonly hints = new Map<string, string>();
  /** deviceId → the remote delivery still looking the device up, so order is kept per device. */
  private readonly lookups = new Map<string, Promise<void>>();

  constructor(
    private readonly nodeId: string,
    private readonly directory: PresenceDirectory,
    private readonly bus: Bus,
  ) {
    bus.subscribe(nodeId, (m) => {
      if (m.kind === 'deliver') this.arrived(m.to, m.event, m.redirected === true);
    });
  }

  get size(): number {
    return this.byDevice.size;
  }

  add(conn: DeviceConnection): void {
    this.byDevice.set(conn.sender.deviceId, conn);
    let set = this.byUser.get(conn.sender.userId);
    if (!set) this.byUser.set(conn.sender.userId, (set = new Set()));
    set.add(conn);
  }

  remove(conn: DeviceConnection): void {
    if (this.byDevice.get(conn.sender.deviceId) === conn)
      this.byDevice.delete(conn.sender.deviceId);
    const set = this.byUser.get(conn.sender.userId);
    if (set?.delete(conn) && set.size === 0) this.byUser.delete(conn.sender.userId);
  }

  /** Every connection on this node (shutdown). */
  all(): IterableIterator<DeviceConnection> {
    return this.byDevice.values();
  }

  /**
   * Kicks (see DeviceConnection.kick) every connection of this node that `match` picks;
   * returns how many.
   */
  kickWhere(match: (conn: DeviceConnection) => boolean, code: number, reason: string): number {
    let n = 0;
    for (const conn of [...this.byDevice.values()]) {
      if (!match(conn)) continue;
      conn.kick(code, reason);
      n++;
    }
    return n;
  }

  /** Whether the device is connected to this node. */
  has(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  /** The node of a device, if known without asking the directory: this one, or a hint. */
  locate(deviceId: string): string | undefined {
    return this.byDevice.has(deviceId) ? this.nodeId : this.hints.get(deviceId);
  }

  /** Remembers that a command of `deviceId` just came from `nodeId` (cluster mode). */
  learn(deviceId: string, nodeId: string): void {
    if (this.hints.get(deviceId) === nodeId) return;
    this.hints.delete(deviceId);
    if (this.hints.size >= MAX_HINTS) this.hints.delete(this.hints.keys().next().value!);
    this.hints.set(deviceId, nodeId);
  }

  toDevice(to: DeviceRef, event: ServerEvent): void {
    const conn = this.byDevice.get(to.deviceId);
    if (conn) {
      conn.sendEvent(event);
      return;
    }
    this.remote(to, event);
  }

  async toUser(userId: string, event: ServerEvent): Promise<void> {
    for (const conn of this.byUser.get(userId) ?? []) conn.sendEvent(event);
    for (const d of await this.directory.devices(userId)) {
      if (d.nodeId !== this.nodeId) this.bus.publish(d.nodeId, { kind: 'deliver', to: d, event });
    }
  }

  /**
   * Sends to a device on another node: at once when a hint names the node, else after a
   * directory lookup. Deliveries to one device leave in the order they were made.
   */
  private remote(to: DeviceRef, event: ServerEvent): void {
    const id = to.deviceId;
    const pending = this.lookups.get(id);
    const hinted = this.hints.get(id);
    if (hinted && !pending) {
      this.bus.publish(hinted, { kind: 'deliver', to, event });
      return;
    }
    const next = (pending ?? Promise.resolve())
      .then(async () => {
        const node = this.hints.get(id) ?? (await this.nodeOf(to));
        if (node && node !== this.nodeId) this.bus.publish(node, { kind: 'deliver', to, event });
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.lookups.get(id) === next) this.lookups.delete(id);
      });
    this.lookups.set(id, next);
  }

  /**
   * An event from another node. A device that is not here (it moved, or a hint was stale) is
   * looked up once more and the event sent on, at most once.
   */
  private arrived(to: DeviceRef, event: ServerEvent, redirected: boolean): void {
    const conn = this.byDevice.get(to.deviceId);
    if (conn) {
      conn.sendEvent(event);
      return;
    }
    if (redirected) return;
    this.hints.delete(to.deviceId);
    void this.nodeOf(to).then(
      (node) => {
        if (node && node !== this.nodeId)
          this.bus.publish(node, { kind: 'deliver', to, event, redirected: true });
      },
      () => undefined,
    );
  }

  private async nodeOf(to: DeviceRef): Promise<string | undefined> {
    return (await this.directory.devices(to.userId)).find((d) => d.deviceId === to.deviceId)
      ?.nodeId;
  }
}

/** Device → node hints kept at most (a few MB at worst). */
const MAX_HINTS = 50_000;
