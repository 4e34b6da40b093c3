import type { types } from 'mediasoup';

/** A producer piped to another router of this node (see pipeLocally). */
export interface LocalPipe {
  /** The pipe consumer on the origin router: closing it closes the copy and the pipe. */
  readonly consumer: types.Consumer;
  /** Lets the media flow (idempotent). */
  start(): Promise<void>;
}

/**
 * Pipes a producer of `from` to `to` as mediasoup's `router.pipeToRouter` does (a PipeTransport
 * pair on loopback, a pipe consumer on `from`, a copy with the producer's id on `to` that follows
 * its pauses; either closing closes the other), but the media flows only from `start()`.
 *
 * Why: a pipe consumer asks the producer for a key frame the moment its transport connects.
 * With pipeToRouter that is when the pipe is made, for a consumer that its client has yet to
 * resume; the key frame passes before that consumer forwards anything, and the consumer's own
 * request a few tens of ms later falls within the minimum interval between key frames that
 * Chrome's encoder keeps (300 ms), so it is ignored, and mediasoup asks again only after 1 s
 * (measured: `parley bench-sfu`, README). Connecting the sending end once the consumer forwards
 * (resumed, its transport's DTLS connected: meetings/consumers.ts) makes the pipe's own request
 * the one that consumer needs.
 */
export async function pipeLocally(
  from: types.Router,
  to: types.Router,
  producerId: string,
): Promise<LocalPipe> {
  const options = { listenIp: '127.0.0.1', appData: { pipe: 'worker' } };
  const sending = await from.createPipeTransport(options);
  try {
    const receiving = await to.createPipeTransport(options);
    sending.observer.once('close', () => receiving.close());
    receiving.observer.once('close', () => sending.close());
    await receiving.connect({ ip: sending.tuple.localIp, port: sending.tuple.localPort });
    const consumer = await sending.consume({ producerId });
    const copy = await receiving.produce({
      id: producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      paused: consumer.producerPaused,
    });
    const follow = () =>
      (consumer.producerPaused ? copy.pause() : copy.resume()).catch(() => undefined);
    consumer.observer.on('pause', () => void follow());
    consumer.observer.on('resume', () => void follow());
    // A pause between the consume and the produce.
    if (copy.paused !== consumer.producerPaused) await follow();
    consumer.observer.once('close', () => sending.close());
    copy.observer.once('close', () => sending.close());
    let started: Promise<void> | null = null;
    return {
      consumer,
      start: () =>
        (started ??= sending.connect({
          ip: receiving.tuple.localIp,
          port: receiving.tuple.localPort,
        })),
    };
  } catch (err) {
    sending.close();
    throw err;
  }
}
