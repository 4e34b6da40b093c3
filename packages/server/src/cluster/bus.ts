import type { DeviceRef, ServerEvent } from '@parley/protocol';

/**
 * Messages between nodes, as one discriminated union (socket.io's cluster adapter is the
 * model). A transport only has to move them.
 */
export type BusMessage = { kind: 'deliver'; to: DeviceRef; event: ServerEvent };

/** Moves messages to a node. MemoryBus in one process; RedisBus across machines. */
export interface Bus {
  publish(nodeId: string, message: BusMessage): void;
  subscribe(nodeId: string, handler: (message: BusMessage) => void): void;
  close(): Promise<void>;
}

/** In-process bus: several nodes in one process (tests) or the single default node. */
export class MemoryBus implements Bus {
  private readonly handlers = new Map<string, (message: BusMessage) => void>();

  publish(nodeId: string, message: BusMessage): void {
    const handler = this.handlers.get(nodeId);
    if (handler) queueMicrotask(() => handler(message));
  }

  subscribe(nodeId: string, handler: (message: BusMessage) => void): void {
    this.handlers.set(nodeId, handler);
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
