import type { DeviceRef, ServerEvent } from '@parley/protocol';
import type { Delivery, Sender } from '../calls/index.ts';
import type { Bus } from '../cluster/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';

/** A device's connection as the hub sees it, whatever carries it (WebSocket, socket.io). */
export interface DeviceConnection {
  readonly sender: Sender;
  /** Encodes and sends an event, if the connection's dialect shows it. */
  sendEvent(event: ServerEvent): void;
  close(code: number, reason: string): void;
  /** Pings the peer, or drops it when it has been silent past `timeoutMs`. */
  heartbeat(now: number, timeoutMs: number): void;
}

/**
 * The connections of this node by device, and delivery to any device: locally when it is
 * connected here, else over the bus to the node the directory names.
 */
export class Hub implements Delivery {
  private readonly byDevice = new Map<string, DeviceConnection>();
  private readonly byUser = new Map<string, Set<DeviceConnection>>();

  constructor(
    private readonly nodeId: string,
    private readonly directory: PresenceDirectory,
    private readonly bus: Bus,
  ) {
    bus.subscribe(nodeId, (m) => {
      if (m.kind === 'deliver') this.byDevice.get(m.to.deviceId)?.sendEvent(m.event);
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

  toDevice(to: DeviceRef, event: ServerEvent): void {
    const conn = this.byDevice.get(to.deviceId);
    if (conn) {
      conn.sendEvent(event);
      return;
    }
    void this.remote(to, event);
  }

  async toUser(userId: string, event: ServerEvent): Promise<void> {
    for (const conn of this.byUser.get(userId) ?? []) conn.sendEvent(event);
    for (const d of await this.directory.devices(userId)) {
      if (d.nodeId !== this.nodeId) this.bus.publish(d.nodeId, { kind: 'deliver', to: d, event });
    }
  }

  private async remote(to: DeviceRef, event: ServerEvent): Promise<void> {
    const entry = (await this.directory.devices(to.userId)).find((d) => d.deviceId === to.deviceId);
    if (entry && entry.nodeId !== this.nodeId)
      this.bus.publish(entry.nodeId, { kind: 'deliver', to, event });
  }
}
