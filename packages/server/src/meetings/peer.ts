import { randomUUID } from 'node:crypto';
import { AppError, type DeviceRef, type RtcPeerInfo } from '@parley/protocol';
import type {
  Consumer,
  DataConsumer,
  DataProducer,
  Producer,
  Router,
  WebRtcTransport,
} from '../sfu/index.ts';
import { notFound } from './errors.ts';

/** A transport of a peer and what the peer asked it for. */
export interface PeerTransport {
  readonly transport: WebRtcTransport;
  readonly direction: 'send' | 'recv';
  /** Set while rtc:connectTransport runs and once it succeeded (a transport connects once). */
  connected: boolean;
}

/**
 * One device in a meeting's media room, and the SFU objects it owns. Lookups only ever search
 * the peer's own objects: whatever id a client sends, it can only touch what it created. The
 * maps drop objects that mediasoup closes on its own (a producer closing closes its consumers).
 */
export class Peer {
  readonly peerId = randomUUID();
  readonly transports = new Map<string, PeerTransport>();
  readonly producers = new Map<string, Producer>();
  readonly consumers = new Map<string, Consumer>();
  readonly dataProducers = new Map<string, DataProducer>();
  readonly dataConsumers = new Map<string, DataConsumer>();
  /** Producers an administrator muted and the peer may not resume. */
  readonly locked = new Set<string>();
  /** The transport each consumer sends on. */
  private readonly consumedOn = new WeakMap<Consumer, WebRtcTransport>();
  private isClosed = false;

  constructor(
    readonly device: DeviceRef,
    readonly nickname: string,
    /** The meeting's router this peer is on: its transports, producers and consumers. */
    readonly router: Router,
    /** Called once, when the peer closes (it gives back its user's slot under the peer cap). */
    private readonly onClose?: () => void,
  ) {}

  get userId(): string {
    return this.device.userId;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** What other peers learn about this one (rtc:joined). */
  info(): RtcPeerInfo {
    return {
      peerId: this.peerId,
      userId: this.userId,
      nickname: this.nickname,
      producers: [...this.producers.values()].map((p) => ({
        id: p.id,
        kind: p.kind,
        appData: p.appData,
        paused: p.paused,
      })),
      dataProducers: [...this.dataProducers.values()].map((d) => ({
        id: d.id,
        label: d.label,
        protocol: d.protocol,
        appData: d.appData,
      })),
    };
  }

  addTransport(transport: WebRtcTransport, direction: PeerTransport['direction']): void {
    this.transports.set(transport.id, { transport, direction, connected: false });
    transport.observer.once('close', () => this.transports.delete(transport.id));
  }

  addProducer(producer: Producer): void {
    this.producers.set(producer.id, producer);
    // A producer closed by its router's worker dying stays listed: the room, told afterwards,
    // still has to announce it closed to the peers on the other routers.
    producer.observer.once('close', () => {
      if (!this.router.closed) this.producers.delete(producer.id);
    });
  }

  addConsumer(consumer: Consumer, transport: WebRtcTransport): void {
    this.consumers.set(consumer.id, consumer);
    this.consumedOn.set(consumer, transport);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
  }

  addDataProducer(dataProducer: DataProducer): void {
    this.dataProducers.set(dataProducer.id, dataProducer);
    dataProducer.observer.once('close', () => this.dataProducers.delete(dataProducer.id));
  }

  addDataConsumer(dataConsumer: DataConsumer): void {
    this.dataConsumers.set(dataConsumer.id, dataConsumer);
    dataConsumer.observer.once('close', () => this.dataConsumers.delete(dataConsumer.id));
  }

  /** One of this peer's transports (40402 otherwise), optionally of one direction. */
  transport(id: string, direction?: PeerTransport['direction']): PeerTransport {
    const t = this.transports.get(id);
    if (!t) throw notFound('transport', id);
    if (direction && t.direction !== direction) {
      throw AppError.badRequest(`transport ${id} is a ${t.direction} transport`, {
        field: '/transportId',
      });
    }
    return t;
  }

  /** The named recv transport, or the most recently created one. */
  recvTransport(id?: string): PeerTransport {
    if (id !== undefined) return this.transport(id, 'recv');
    const recv = [...this.transports.values()].filter((t) => t.direction === 'recv');
    const last = recv[recv.length - 1];
    if (!last) throw notFound('transport');
    return last;
  }

  producer(id: string): Producer {
    const p = this.producers.get(id);
    if (!p) throw notFound('producer', id);
    return p;
  }

  consumer(id: string): Consumer {
    const c = this.consumers.get(id);
    if (!c) throw notFound('consumer', id);
    return c;
  }

  /** The transport a consumer of this peer sends on. */
  transportOf(consumer: Consumer): WebRtcTransport | undefined {
    return this.consumedOn.get(consumer);
  }

  /**
   * Forgets the consumers of a producer that just closed. mediasoup closes them too, but only
   * when the worker's notification arrives; until then a request must not reach them.
   */
  forgetConsumersOf(producerId: string): void {
    for (const [id, c] of this.consumers) {
      if (c.producerId === producerId) this.consumers.delete(id);
    }
  }

  /** Forgets the data consumers of a data producer that just closed (as above). */
  forgetDataConsumersOf(dataProducerId: string): void {
    for (const [id, c] of this.dataConsumers) {
      if (c.dataProducerId === dataProducerId) this.dataConsumers.delete(id);
    }
  }

  /** Closes every transport (mediasoup closes their producers and consumers); idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const { transport } of [...this.transports.values()]) transport.close();
    this.transports.clear();
    this.onClose?.();
  }
}
