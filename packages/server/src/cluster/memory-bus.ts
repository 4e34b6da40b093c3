import type { Bus, BusMessage } from '../core/index.ts';

/** In-process bus: the single default node, or several nodes in one process. */
export class MemoryBus implements Bus {
  private readonly handlers = new Map<string, Array<(message: BusMessage) => void>>();

  publish(nodeId: string, message: BusMessage): void {
    const handlers = this.handlers.get(nodeId);
    if (handlers) queueMicrotask(() => handlers.forEach((h) => h(message)));
  }

  broadcast(message: BusMessage): void {
    for (const nodeId of this.handlers.keys()) this.publish(nodeId, message);
  }

  subscribe(nodeId: string, handler: (message: BusMessage) => void): () => void {
    const handlers = this.handlers.get(nodeId);
    if (handlers) handlers.push(handler);
    else this.handlers.set(nodeId, [handler]);
    return () => {
      const now = this.handlers.get(nodeId);
      const i = now?.indexOf(handler) ?? -1;
      if (i >= 0) now!.splice(i, 1);
    };
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
