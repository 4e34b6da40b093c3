/**
 * A meeting client for the browser tests, written against specs/meeting-sfu.md with
 * mediasoup-client, exactly as an app would: getRouterRtpCapabilities → device.load, beside
 * rtc:join → both transports at once → produce audio and simulcast video (+ a data channel) →
 * consume every remote producer at once and resume each as soon as it is made. Bundled by
 * esbuild; the test drives it through `window.meeting`, and `parley bench-sfu` reads its join's
 * `marks`.
 */
import { Device, type types } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type { JoinMark } from './join-marks.ts';

/** How the test starts a client. */
interface Options {
  /** `ws://host:port` (raw WebSocket) or `http://host:port` (socket.io). */
  server: string;
  transport: 'ws' | 'socket.io';
  token: string;
  meetingId: string;
  /** Where Chrome's send-side bandwidth estimate starts (x-google-start-bitrate), in kbps. */
  sendStartKbps?: number;
}

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The signaling calls the client makes; both transports look alike from here. */
interface Signaling {
  request(type: string, data: Data): Promise<Data>;
  on(type: string, handler: (data: Data) => void): void;
  close(): void;
}

/** A request's error, with the spec's numeric code. */
class SignalingError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(`${message} (${code})`);
  }
}

/** `/ws/meeting`: `{type, data, requestId}` requests; responses matched by requestId. */
async function wsSignaling(o: Options): Promise<Signaling> {
  const ws = new WebSocket(`${o.server}/ws/meeting?token=${o.token}&clientType=web`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const pending = new Map<string, { resolve: (d: Data) => void; reject: (e: Error) => void }>();
  const handlers = new Map<string, Array<(d: Data) => void>>();
  let next = 0;
  ws.onmessage = (msg: MessageEvent<string>) => {
    const f = JSON.parse(msg.data) as Data;
    const waiting = f.requestId === undefined ? undefined : pending.get(f.requestId as string);
    if (waiting) {
      pending.delete(f.requestId as string);
      if (f.type === 'rtc:error')
        waiting.reject(new SignalingError(f.error as string, f.code as number));
      else waiting.resolve(f.data as Data);
      return;
    }
    for (const h of handlers.get(f.type as string) ?? []) h(f.data as Data);
  };
  return {
    request(type, data) {
      const requestId = `r${++next}`;
      ws.send(JSON.stringify({ type, data, requestId }));
      return new Promise((resolve, reject) => pending.set(requestId, { resolve, reject }));
    },
    on(type, handler) {
      handlers.set(type, [...(handlers.get(type) ?? []), handler]);
    },
    close: () => ws.close(),
  };
}

/** socket.io: event = type, ack = response, token in the handshake auth. */
async function socketIoSignaling(o: Options): Promise<Signaling> {
  const socket: Socket = io(o.server, {
    path: '/socket.io/',
    transports: ['websocket'],
    auth: { token: o.token },
    reconnection: false,
  });
  await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', reject);
  });
  return {
    async request(type, data) {
      const r = (await socket.timeout(20_000).emitWithAck(type, data)) as Data;
      if (r.type === 'rtc:error') throw new SignalingError(r.error as string, r.code as number);
      return r.data as Data;
    },
    on: (type, handler) => socket.on(type, handler),
    close: () => socket.disconnect(),
  };
}

/** One remote track this page receives. */
interface Remote {
  consumer: types.Consumer;
  peerId: string;
  element: HTMLVideoElement | HTMLAudioElement;
}

/** The page's side of a meeting. */
class PageMeeting {
  /** Every broadcast event received, in order. */
  readonly events: Array<{ type: string; data: Data }> = [];
  /** Data channel messages received. */
  readonly messages: string[] = [];
  /**
   * The dominant speaker this page knows of: rtc:join's answer names the one already chosen,
   * later ones come as rtc:activeSpeaker (only on a change: a page that joins after the choice,
   * when it does not change again, never gets that event).
   */
  activeSpeaker: string | null = null;
  peerId = '';
  /** When the first join reached each of its steps (performance.now()). */
  readonly marks: Partial<Record<JoinMark, number>> = {};
  /** How many times the page joined again after rtc:mediaReset. */
  rejoins = 0;
  private sig!: Signaling;
  private readonly device = new Device();
  private send!: types.Transport;
  private recv!: types.Transport;
  private readonly remotes = new Map<string, Remote>();
  private dataProducer: types.DataProducer | null = null;
  private videoProducer: types.Producer | null = null;
  private ready!: Promise<void>;
  /** The published camera and microphone, kept for a rejoin. */
  private stream: MediaStream | null = null;
  private rejoining = Promise.resolve();

  constructor(private readonly o: Options) {}

  /** Connects and joins; consumes everything already published and whatever comes later. */
  async join(): Promise<{ peerId: string; peers: number }> {
    const { o } = this;
    this.mark('start');
    this.sig = await (o.transport === 'ws' ? wsSignaling(o) : socketIoSignaling(o));
    this.mark('signaling');
    for (const type of [
      'rtc:peerJoined',
      'rtc:peerLeft',
      'rtc:producerClosed',
      'rtc:producerPaused',
      'rtc:producerResumed',
      'rtc:meetingEnded',
      'rtc:activeSpeaker',
      'rtc:newProducer',
      'rtc:newDataProducer',
      'rtc:mediaReset',
    ]) {
      this.sig.on(type, (data) => this.events.push({ type, data }));
    }
    this.sig.on('rtc:activeSpeaker', (d) => (this.activeSpeaker = d.peerId as string));
    this.sig.on(
      'rtc:newProducer',
      (d) => void this.ready.then(() => this.consume(d.producerId, d.peerId)),
    );
    this.sig.on(
      'rtc:newDataProducer',
      (d) => void this.ready.then(() => this.consumeData(d.dataProducerId)),
    );
    this.sig.on('rtc:producerClosed', (d) => this.dropProducer(d.producerId as string));
    // One rejoin at a time, each after the join before it has its transports.
    this.sig.on('rtc:mediaReset', () => {
      this.rejoining = this.rejoining.then(() => this.ready).then(() => this.rejoin());
    });

    const loaded = this.sig
      .request('rtc:getRouterRtpCapabilities', { meetingId: o.meetingId })
      .then(({ rtpCapabilities }) => {
        this.mark('capabilities');
        const routerRtpCapabilities = rtpCapabilities as types.RtpCapabilities;
        return this.device.load({ routerRtpCapabilities });
      })
      .then(() => this.mark('loaded'));
    const peers = await this.enter(loaded);
    return { peerId: this.peerId, peers };
  }

  /**
   * rtc:join (while the device loads, on a first join: neither needs the other), the two
   * transports, and a consumer for everything already published; events for producers that come
   * meanwhile wait on `ready`. Returns how many peers were there.
   */
  private async enter(loaded = Promise.resolve()): Promise<number> {
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    const speakerEvents = this.events.filter((e) => e.type === 'rtc:activeSpeaker').length;
    const [joined] = await Promise.all([
      this.sig.request('rtc:join', { meetingId: this.o.meetingId }).then((j) => {
        this.mark('joined');
        return j;
      }),
      loaded,
    ]);
    this.peerId = joined.peerId as string;
    // The answer's speaker, unless a change came while it was on its way (that one is newer).
    if (this.events.filter((e) => e.type === 'rtc:activeSpeaker').length === speakerEvents) {
      this.activeSpeaker = ((joined.activeSpeaker as Data | null)?.peerId as string) ?? null;
    }
    [this.send, this.recv] = await Promise.all([this.transport('send'), this.transport('recv')]);
    this.mark('transports');
    markReady();
    const peers = joined.peers as Data[];
    await Promise.all(
      peers.flatMap((peer) => [
        ...(peer.producers as Data[]).map((p) => this.consume(p.id as string, peer.peerId)),
        ...(peer.dataProducers as Data[]).map((d) => this.consumeData(d.id as string)),
      ]),
    );
    return peers.length;
  }

  /**
   * The server lost this peer's media (its SFU worker or node died: rtc:mediaReset): join again
   * on the same connection, as the SDK does, and publish the same tracks again.
   */
  private async rejoin(): Promise<void> {
    try {
      this.send.close();
      this.recv.close();
      for (const r of this.remotes.values()) r.element.remove();
      this.remotes.clear();
      this.videoProducer = null;
      this.dataProducer = null;
      await this.enter();
      if (this.stream) await this.produceAll(this.stream);
      this.rejoins++;
    } catch (err) {
      console.warn('meeting page: cannot rejoin', err);
    }
  }

  /** Publishes the fake microphone, the fake camera in three simulcast encodings, and "chat". */
  async publish(
    size = { width: 320, height: 240, frameRate: 15 },
  ): Promise<{ audio: string; video: string }> {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: {
        width: { ideal: size.width },
        height: { ideal: size.height },
        frameRate: { ideal: size.frameRate },
      },
    });
    this.stream = stream;
    return this.produceAll(stream);
  }

  private async produceAll(stream: MediaStream): Promise<{ audio: string; video: string }> {
    const audio = await this.send.produce({
      track: stream.getAudioTracks()[0]!,
      codecOptions: { opusStereo: true, opusDtx: true, opusFec: true },
      appData: { source: 'mic' },
      // The tracks outlive their producers (closed with the transport): a rejoin reuses them.
      stopTracks: false,
    });
    this.videoProducer = await this.send.produce({
      track: stream.getVideoTracks()[0]!,
      encodings: [
        { rid: 'r0', maxBitrate: 100_000, scalabilityMode: 'S1T3', scaleResolutionDownBy: 4 },
        { rid: 'r1', maxBitrate: 300_000, scalabilityMode: 'S1T3', scaleResolutionDownBy: 2 },
        { rid: 'r2', maxBitrate: 1_500_000, scalabilityMode: 'S1T3', scaleResolutionDownBy: 1 },
      ],
      appData: { source: 'camera' },
      stopTracks: false,
      ...(this.o.sendStartKbps && {
        codecOptions: { videoGoogleStartBitrate: this.o.sendStartKbps },
      }),
    });
    this.dataProducer = await this.send.produceData({ label: 'chat', appData: { kind: 'chat' } });
    return { audio: audio.id, video: this.videoProducer.id };
  }

  /**
   * Per remote video: its peer, frames decoded and RTP packets received so far, the rendered
   * width, and whether the SFU closed the transport it comes on: the worker sends a DTLS close
   * alert as it deletes a transport, and the page's DTLS transport turns `closed` on it.
   */
  async video(): Promise<
    Array<{
      peerId: string;
      framesDecoded: number;
      packetsReceived: number;
      width: number;
      sfuClosed: boolean;
    }>
  > {
    const out = [];
    for (const r of this.remotes.values()) {
      if (r.consumer.kind !== 'video' || r.consumer.closed) continue;
      let framesDecoded = 0;
      let packetsReceived = 0;
      (await r.consumer.getStats()).forEach((s: Data) => {
        if (s.type !== 'inbound-rtp') return;
        framesDecoded = (s.framesDecoded as number) ?? 0;
        packetsReceived = (s.packetsReceived as number) ?? 0;
      });
      out.push({
        peerId: r.peerId,
        framesDecoded,
        packetsReceived,
        width: (r.element as HTMLVideoElement).videoWidth,
        sfuClosed: r.consumer.rtpReceiver?.transport?.state === 'closed',
      });
    }
    return out;
  }

  /** The SFU's view of this page's video producer (one entry per simulcast stream received). */
  async videoProducerStats(): Promise<Array<{ rid: string; bitrate: number }>> {
    const { stats } = await this.sig.request('rtc:getProducerStats', {
      meetingId: this.o.meetingId,
      producerId: this.videoProducer!.id,
    });
    return (stats as Data[]).map((s) => ({ rid: s.rid as string, bitrate: s.bitrate as number }));
  }

  /** Sends a message on the data channel. */
  say(text: string): void {
    this.dataProducer!.send(text);
  }

  /** Leaves the media room. */
  async leave(): Promise<void> {
    await this.sig.request('rtc:leave', { meetingId: this.o.meetingId });
    this.send.close();
    this.recv.close();
  }

  private async transport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const { meetingId } = this.o;
    const t = await this.sig.request('rtc:createTransport', {
      meetingId,
      direction,
      sctpCapabilities: this.device.sctpCapabilities,
    });
    const options = {
      id: t.transportId as string,
      iceParameters: t.iceParameters as types.IceParameters,
      iceCandidates: t.iceCandidates as types.IceCandidate[],
      dtlsParameters: t.dtlsParameters as types.DtlsParameters,
      sctpParameters: t.sctpParameters as types.SctpParameters,
    };
    const transport =
      direction === 'send'
        ? this.device.createSendTransport(options)
        : this.device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      if (direction === 'recv') this.mark('connect');
      this.sig
        .request('rtc:connectTransport', { meetingId, transportId: transport.id, dtlsParameters })
        .then(() => {
          if (direction === 'recv') this.mark('connectReply');
          callback();
        }, errback);
    });
    if (direction === 'recv') {
      transport.on('connectionstatechange', (state) => {
        if (state === 'connected') this.mark('dtls');
      });
    }
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      this.sig
        .request('rtc:produce', {
          meetingId,
          transportId: transport.id,
          kind,
          rtpParameters,
          appData,
        })
        .then(({ producerId }) => callback({ id: producerId as string }), errback);
    });
    transport.on(
      'producedata',
      ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
        this.sig
          .request('rtc:produceData', {
            meetingId,
            transportId: transport.id,
            sctpStreamParameters,
            label,
            protocol,
            appData,
          })
          .then(({ dataProducerId }) => callback({ id: dataProducerId as string }), errback);
      },
    );
    return transport;
  }

  private async consume(producerId: string, peerId: string): Promise<void> {
    const { meetingId } = this.o;
    const params = await this.sig.request('rtc:consume', {
      meetingId,
      producerId,
      rtpCapabilities: this.device.rtpCapabilities,
    });
    const video = params.kind === 'video';
    if (video) this.mark('consumed');
    // The response is what recvTransport.consume() takes (id, producerId, kind, rtpParameters).
    const consumer = await this.recv.consume(params as types.ConsumerOptions);
    if (video) {
      this.mark('consumer');
      consumer.track.addEventListener('unmute', () => this.mark('rtp'), { once: true });
    }
    await this.sig.request('rtc:resumeConsumer', { meetingId, consumerId: consumer.id });
    if (video) this.mark('resumed');
    const element = document.createElement(consumer.kind === 'video' ? 'video' : 'audio');
    element.autoplay = true;
    element.muted = true;
    if (element instanceof HTMLVideoElement) {
      element.playsInline = true;
      element.requestVideoFrameCallback((_, frame) => {
        const now = performance.now();
        // For a WebRTC source: when the frame's last packet arrived, and how long it decoded (s).
        const { receiveTime, processingDuration } = frame;
        if (receiveTime !== undefined) this.mark('keyFrame', receiveTime);
        if (receiveTime !== undefined && processingDuration !== undefined)
          this.mark('decoded', receiveTime + processingDuration * 1000);
        this.mark('presented', now);
      });
    }
    element.srcObject = new MediaStream([consumer.track]);
    document.body.append(element);
    this.remotes.set(consumer.id, { consumer, peerId, element });
  }

  private async consumeData(dataProducerId: string): Promise<void> {
    const params = await this.sig.request('rtc:consumeData', {
      meetingId: this.o.meetingId,
      dataProducerId,
    });
    const dc = await this.recv.consumeData(params as types.DataConsumerOptions);
    dc.on('message', (m: unknown) => this.messages.push(String(m)));
  }

  /** Records a step of the first join (later ones, a rejoin's, are not a join's figures). */
  private mark(step: JoinMark, at = performance.now()): void {
    this.marks[step] ??= at;
  }

  private dropProducer(producerId: string): void {
    for (const [id, r] of this.remotes) {
      if (r.consumer.producerId !== producerId) continue;
      r.consumer.close();
      r.element.remove();
      this.remotes.delete(id);
    }
  }
}

declare global {
  interface Window {
    /** Set by the test: `window.meeting = startMeeting(options)`. */
    startMeeting: (o: Options) => PageMeeting;
    meeting: PageMeeting;
  }
}

window.startMeeting = (o) => (window.meeting = new PageMeeting(o));
