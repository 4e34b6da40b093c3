import type { types } from 'mediasoup';
import type { Config } from '../config/index.ts';

/** Where one end of a pipe receives, as the other end needs it to send there. */
export interface PipeEndpoint {
  ip: string;
  port: number;
  /** The keys this end encrypts with (SRTP pipes only). */
  srtpParameters?: types.SrtpParameters;
}

/** A producer as it leaves one node through a pipe, for the other to produce its copy. */
export interface PipedProducer {
  /** The original's id: the copy keeps it. */
  id: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  paused: boolean;
  appData: types.AppData;
}

/** A data producer as it leaves one node through a pipe (SCTP), likewise. */
export interface PipedDataProducer {
  /** The original's id: the copy keeps it. */
  id: string;
  sctpStreamParameters: types.SctpStreamParameters;
  label: string;
  protocol: string;
  appData: types.AppData;
}

/** The pipe settings of a node (see config `sfu.pipe*`). */
export type PipeSettings = Pick<
  Config['sfu'],
  'listenIp' | 'announcedIp' | 'pipeListenIp' | 'pipeAnnouncedIp' | 'pipeMinPort' | 'pipeMaxPort'
> & { pipeSrtp: boolean };

/** How many ports of the pipe range to try before giving up (others may hold some). */
const PORT_ATTEMPTS = 20;

/**
 * One end of a pipe between two nodes: a PipeTransport on a router of this node that listens
 * on the configured pipe address and announces the one other nodes reach. The two ends swap
 * their `local` endpoints (through the cluster) and `connect` to each other; then `send` takes
 * a producer of this router into the pipe and the other end's `receive` produces its copy,
 * with the same id, kind, RTP parameters and pause state. An end opened with `sctp` carries a
 * data producer likewise (`sendData`, `receiveData`), over an SCTP association between the two
 * ends (SRTP does not cover it: data crosses such a pipe in the clear). Closing an end closes
 * what it sent and received; telling the other end is the caller's (the pipe's UDP carries no
 * close).
 */
export class PipeLink {
  private constructor(readonly transport: types.PipeTransport) {}

  /**
   * Opens an end on `router`, on a free port of the pipe range when one is configured; `sctp`:
   * for a data producer (both ends must say so).
   */
  static async open(router: types.Router, s: PipeSettings, sctp = false): Promise<PipeLink> {
    const ip = s.pipeListenIp ?? s.listenIp;
    const announcedIp = s.pipeListenIp ? s.pipeAnnouncedIp : (s.pipeAnnouncedIp ?? s.announcedIp);
    const options = {
      listenIp: announcedIp ? { ip, announcedIp } : { ip },
      enableSrtp: s.pipeSrtp,
      enableSctp: sctp,
      // Retransmissions across nodes: a packet lost between machines is asked for again.
      enableRtx: true,
      appData: { pipe: 'node' },
    };
    if (s.pipeMinPort === 0) return new PipeLink(await router.createPipeTransport(options));
    const span = s.pipeMaxPort - s.pipeMinPort + 1;
    const first = Math.floor(Math.random() * span);
    let lastError: unknown = null;
    for (let i = 0; i < Math.min(span, PORT_ATTEMPTS); i++) {
      const port = s.pipeMinPort + ((first + i) % span);
      try {
        return new PipeLink(await router.createPipeTransport({ ...options, port }));
      } catch (err) {
        // A port in use (another pipe, another process): the next one.
        lastError = err;
      }
    }
    throw new Error(`no free pipe port in ${s.pipeMinPort}-${s.pipeMaxPort}: ${String(lastError)}`);
  }

  /** Where this end receives: for the other end's `connect`. */
  get local(): PipeEndpoint {
    const { localIp, localPort } = this.transport.tuple;
    const srtp = this.transport.srtpParameters;
    return srtp
      ? { ip: localIp, port: localPort, srtpParameters: srtp }
      : { ip: localIp, port: localPort };
  }

  get closed(): boolean {
    return this.transport.closed;
  }

  /** Sends to the other end (its `local`). */
  async connect(remote: PipeEndpoint): Promise<void> {
    await this.transport.connect(
      remote.srtpParameters
        ? { ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters }
        : { ip: remote.ip, port: remote.port },
    );
  }

  /**
   * Takes `producer` (of this end's router) into the pipe: the pipe consumer, and what the
   * other end's `receive` needs. The consumer closes with the producer, and follows its pauses.
   */
  async send(
    producer: Pick<types.Producer, 'id' | 'appData'>,
  ): Promise<{ consumer: types.Consumer; piped: PipedProducer }> {
    const consumer = await this.transport.consume({ producerId: producer.id });
    return {
      consumer,
      piped: {
        id: producer.id,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
        paused: consumer.producerPaused,
        appData: producer.appData,
      },
    };
  }

  /** Produces the copy of a producer that the other end `send`s, on this end's router. */
  receive(piped: PipedProducer): Promise<types.Producer> {
    return this.transport.produce({
      id: piped.id,
      kind: piped.kind,
      rtpParameters: piped.rtpParameters,
      paused: piped.paused,
      appData: piped.appData,
    });
  }

  /**
   * Takes `dataProducer` (of this end's router) into the pipe: the pipe data consumer, and what
   * the other end's `receiveData` needs. The consumer closes with the data producer.
   */
  async sendData(
    dataProducer: Pick<types.DataProducer, 'id' | 'appData'>,
  ): Promise<{ consumer: types.DataConsumer; piped: PipedDataProducer }> {
    const consumer = await this.transport.consumeData({ dataProducerId: dataProducer.id });
    return {
      consumer,
      piped: {
        id: dataProducer.id,
        // Set on every consumer of an SCTP transport (an end opened without `sctp` throws above).
        sctpStreamParameters: consumer.sctpStreamParameters!,
        label: consumer.label,
        protocol: consumer.protocol,
        appData: dataProducer.appData,
      },
    };
  }

  /** Produces the copy of a data producer that the other end `sendData`s, on this end's router. */
  receiveData(piped: PipedDataProducer): Promise<types.DataProducer> {
    return this.transport.produceData({
      id: piped.id,
      sctpStreamParameters: piped.sctpStreamParameters,
      label: piped.label,
      protocol: piped.protocol,
      appData: piped.appData,
    });
  }

  /** Closes this end, and with it what it sent and received; idempotent. */
  close(): void {
    this.transport.close();
  }
}
