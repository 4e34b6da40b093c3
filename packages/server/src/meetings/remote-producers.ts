import type { RtcPeerInfo } from '@parley/protocol';
import type {
  MeetingSpanPort,
  SpanEvent,
  SpanNotice,
  SpanPipeReply,
  SpanRequest,
  SpanSnapshot,
  SpanWhat,
} from '../core/index.ts';
import type { Logger } from '../observability/index.ts';
import type {
  DataProducer,
  PipeEndpoint,
  PipedDataProducer,
  PipedProducer,
  PipeLink,
  Producer,
  Router,
  SfuPool,
} from '../sfu/index.ts';
import { notFound } from './errors.ts';
import type { Release } from './pipes.ts';
import type { Room } from './room.ts';

/** The copy of a producer or data producer of another node, on one of this node's routers. */
interface Landed {
  link: PipeLink;
  copy: Producer | DataProducer;
  router: Router;
}

/** A producer (or data producer) of another node piped here: its copy on one router. */
interface PipeIn {
  readonly node: string;
  readonly what: SpanWhat;
  users: number;
  readonly ready: Promise<Landed>;
  /** Set when this node let the copy go (or it closed): the origin need not hear it again. */
  done: boolean;
  /** Whether its media flows (see MeetingSpan.start). */
  started: boolean;
}

/**
 * One of this node's (data) producers piped to another node: the sending end, and what lets
 * its media flow (once; at once unless the other node asked `later`).
 */
interface PipeOut {
  readonly link: PipeLink;
  start(): Promise<void>;
}

/** What this node knows of one meeting that other nodes serve too. */
interface RemoteMeeting {
  readonly meetingId: string;
  /** The other nodes serving it: where this node's news goes. */
  readonly nodes: Set<string>;
  /** peerId → the node of a peer elsewhere and what it publishes. */
  readonly peers: Map<string, { node: string; info: RtcPeerInfo }>;
  /** producerId or dataProducerId → the copy piped here. */
  readonly pipesIn: Map<string, PipeIn>;
  /** `id>node` → the pipe sending one of this node's (data) producers to another node. */
  readonly pipesOut: Map<string, PipeOut>;
}

/** A producer a consumer here can take: local, or the copy of a remote one, and its release. */
export interface Source {
  producer: Producer;
  router: Router;
  release: Release;
}

/** A data producer a data consumer here can take, likewise. */
export interface DataSource {
  dataProducer: DataProducer;
  router: Router;
  release: Release;
}

const idOf = (what: SpanWhat): string =>
  'producerId' in what ? what.producerId : what.dataProducerId;

/** Runs `f` when a (data) producer or consumer closes (their observers' types do not unite). */
function onClose(x: { observer: unknown }, f: () => void): void {
  (x.observer as { once(event: 'close', listener: () => void): unknown }).once('close', f);
}

/**
 * A meeting spread over the nodes of a cluster. Each node serves its own peers on its own
 * routers; the nodes of a meeting tell each other of their peers and producers (and a node
 * that starts serving a meeting asks the others for theirs), so that every peer hears of every
 * other as if they shared a router. A producer elsewhere is piped here when a consumer here
 * first needs it (once per node: further routers of the meeting here get it through the room's
 * own pipes) and unpiped when the last goes; data producers alike, over pipes with SCTP. A node
 * that dies takes only its own peers: the others hear rtc:producerClosed and rtc:peerLeft for
 * them. A worker here that dies with the copies on it (the observer's router) costs this
 * node's peers only their consumers of them: they hear the producers close and come back
 * (rtc:producerClosed, rtc:newProducer, rtc:newDataProducer) and consume them again, piped anew.
 */
export class MeetingSpan {
  private readonly meetings = new Map<string, RemoteMeeting>();
  private readonly log: Logger;

  constructor(
    private readonly port: MeetingSpanPort,
    private readonly pool: Pick<SfuPool, 'openPipe'>,
    /** This node's open media room of a meeting. */
    private readonly rooms: (meetingId: string) => Room | undefined,
    log: Logger,
  ) {
    this.log = log.child({ mod: 'meeting-span' });
  }

  /**
   * This node opened a media room for the meeting: it says so, and learns the peers the other
   * nodes serve (before its first peer's rtc:joined lists them).
   */
  async opened(meetingId: string): Promise<void> {
    const m: RemoteMeeting = {
      meetingId,
      nodes: new Set(),
      peers: new Map(),
      pipesIn: new Map(),
      pipesOut: new Map(),
    };
    this.meetings.set(meetingId, m);
    await this.port.serving(meetingId, true);
    const nodes = await this.port.nodes(meetingId);
    await Promise.all(
      nodes.map(async (node) => {
        m.nodes.add(node);
        try {
          const peers = (await this.port.ask(node, {
            kind: 'span-snapshot',
            meetingId,
          })) as SpanSnapshot;
          for (const info of peers) {
            m.peers.set(info.peerId, { node, info });
            for (const p of info.producers) if (p.kind === 'audio') this.hear(meetingId, p.id);
          }
        } catch (err) {
          // Its peers stay unknown here until they publish: the meeting goes on without them.
          this.log.warn({ event: 'span_snapshot_failed', meetingId, node, err }, 'no snapshot');
        }
      }),
    );
  }

  /** This node's media room of the meeting closed: its pipes close, it serves it no more. */
  closed(meetingId: string): void {
    const m = this.meetings.get(meetingId);
    if (!m) return;
    this.meetings.delete(meetingId);
    for (const [producerId, pipe] of m.pipesIn) this.dropIn(m, producerId, pipe);
    for (const { link } of m.pipesOut.values()) link.close();
    m.pipesOut.clear();
    this.port.serving(meetingId, false).catch((err: unknown) => {
      this.log.warn({ event: 'span_unserve_failed', meetingId, err }, 'meeting not given up');
    });
  }

  /**
   * This node was taken for dead (it stalled), and the cluster forgot which meetings it serves:
   * it says so again for the rooms it still holds (the other nodes forgot its peers; they hear
   * of those that join again).
   */
  reassert(): void {
    for (const meetingId of this.meetings.keys()) {
      this.port.serving(meetingId, true).catch((err: unknown) => {
        this.log.warn({ event: 'span_reserve_failed', meetingId, err }, 'meeting not served again');
      });
    }
  }

  /** The room broadcast news of its peers: the other nodes of the meeting hear it. */
  relay(meetingId: string, event: SpanEvent): void {
    const m = this.meetings.get(meetingId);
    if (!m) return;
    for (const node of m.nodes) this.port.tell(node, { kind: 'span-event', meetingId, event });
  }

  /** The peer (on another node) of a producer of the meeting, if one has it. */
  peerOf(meetingId: string, producerId: string): string | undefined {
    const m = this.meetings.get(meetingId);
    for (const { info } of m?.peers.values() ?? []) {
      if (info.producers.some((p) => p.id === producerId)) return info.peerId;
    }
    return undefined;
  }

  /** Whether a peer of the meeting on another node has the producer or data producer `id`. */
  has(meetingId: string, id: string): boolean {
    const m = this.meetings.get(meetingId);
    return m !== undefined && this.nodeOf(m, id) !== undefined;
  }

  /** The peers of the meeting on other nodes (for rtc:joined). */
  peers(meetingId: string): RtcPeerInfo[] {
    const m = this.meetings.get(meetingId);
    return m ? [...m.peers.values()].map(({ info }) => structuredClone(info)) : [];
  }

  /**
   * The producer `producerId` of the meeting for a consumer on `router`: the copy of a remote
   * one, piped here on first use; null when no node of the meeting has it. With `later`, a new
   * pipe's media flows only from `start` (a consumer that its client has yet to resume).
   */
  async acquire(
    meetingId: string,
    producerId: string,
    router: Router,
    later = false,
  ): Promise<Source | null> {
    const got = await this.take(meetingId, { producerId }, router, later);
    return got && { producer: got.copy as Producer, router: got.router, release: got.release };
  }

  /** The data producer `dataProducerId` of the meeting for a data consumer on `router`, likewise. */
  async acquireData(
    meetingId: string,
    dataProducerId: string,
    router: Router,
  ): Promise<DataSource | null> {
    const got = await this.take(meetingId, { dataProducerId }, router);
    return (
      got && { dataProducer: got.copy as DataProducer, router: got.router, release: got.release }
    );
  }

  /**
   * Lets the media of the pipe bringing `producerId` here flow, if it is one that waits
   * (idempotent; nothing for a producer of this node).
   *
   * Why the wait: the origin's pipe consumer asks the publisher for a key frame the moment its
   * end connects. Were that when the pipe is made, during rtc:consume, the key frame would pass
   * while the joiner's consumer is still paused, and the consumer's own request on resume,
   * within Chrome's minimum interval between key frames (300 ms), would be ignored: the joiner
   * would wait for mediasoup's next request, 1 s later (as between workers: sfu/local-pipe.ts).
   * So the origin connects its end when told here, after the consumer resumed; the consumer's
   * own request, sent before that, is dropped by the origin's unconnected end.
   */
  async start(meetingId: string, producerId: string): Promise<void> {
    const pipe = this.meetings.get(meetingId)?.pipesIn.get(producerId);
    if (!pipe || pipe.started) return;
    pipe.started = true;
    await pipe.ready;
    if (!pipe.done) this.port.tell(pipe.node, { kind: 'span-start', meetingId, producerId });
  }

  private async take(
    meetingId: string,
    what: SpanWhat,
    router: Router,
    later = false,
  ): Promise<{ copy: Producer | DataProducer; router: Router; release: Release } | null> {
    const id = idOf(what);
    const m = this.meetings.get(meetingId);
    const node = m && this.nodeOf(m, id);
    if (!m || !node) return null;
    let pipe = m.pipesIn.get(id);
    if (!pipe) {
      const opened: PipeIn = {
        node,
        what,
        users: 0,
        done: false,
        started: !later,
        ready: this.pipeIn(meetingId, node, what, router, later),
      };
      pipe = opened;
      m.pipesIn.set(id, opened);
      opened.ready.then(
        ({ copy }) => onClose(copy, () => this.copyClosed(m, opened)),
        () => {
          opened.done = true;
          if (m.pipesIn.get(id) === opened) m.pipesIn.delete(id);
        },
      );
    }
    const mine = pipe;
    mine.users++;
    let got;
    try {
      got = await mine.ready;
    } catch (err) {
      mine.users--;
      throw err;
    }
    if (got.copy.closed) {
      mine.users--;
      throw 'producerId' in what ? notFound('producer', id) : notFound('dataProducer', id);
    }
    // A pipe made for a consumer not yet resumed, now needed by one that cannot wait.
    if (!later) void this.start(meetingId, id).catch(() => undefined);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--mine.users > 0 || mine.done) return;
      this.dropIn(m, id, mine);
    };
    return { copy: got.copy, router: got.router, release };
  }

  /** A notice from another node of one of this node's meetings. */
  notice(from: string, n: SpanNotice): void {
    const m = this.meetings.get(n.meetingId);
    if (!m) return;
    m.nodes.add(from);
    if (n.kind === 'span-unpipe' || n.kind === 'span-start') {
      const key = `${n.producerId}>${from}`;
      // In the room's order: after a pipe request of the same node still being answered.
      void this.rooms(n.meetingId)
        ?.run(async () => {
          const out = m.pipesOut.get(key);
          if (n.kind === 'span-start') return out?.start();
          out?.link.close();
          m.pipesOut.delete(key);
        })
        .catch((err: unknown) =>
          this.log.warn({ event: 'span_start_failed', meetingId: n.meetingId, err }, 'not sent'),
        );
      return;
    }
    this.apply(m, from, n.event);
    this.rooms(n.meetingId)?.broadcastHere(n.event);
  }

  /** A request from another node of one of this node's meetings. */
  async answer(from: string, r: SpanRequest): Promise<SpanSnapshot | SpanPipeReply> {
    const room = this.rooms(r.meetingId);
    const m = this.meetings.get(r.meetingId);
    if (r.kind === 'span-snapshot') {
      if (!room || !m) return [];
      m.nodes.add(from);
      return room.run(() => [...room.peers.values()].map((p) => p.info()));
    }
    const { endpoint, later, ...what } = r;
    if (!room || !m) throw notFound('producer', idOf(what));
    return room.run(() =>
      this.pipeOut(m, room, from, what, endpoint as PipeEndpoint, later === true),
    );
  }

  /** A node died: its peers leave this node's rooms, their producers close here. */
  nodeLost(dead: string): void {
    for (const [meetingId, m] of this.meetings) {
      m.nodes.delete(dead);
      for (const [key, { link }] of m.pipesOut) {
        if (!key.endsWith(`>${dead}`)) continue;
        link.close();
        m.pipesOut.delete(key);
      }
      const room = this.rooms(meetingId);
      for (const [peerId, { node, info }] of [...m.peers]) {
        if (node !== dead) continue;
        m.peers.delete(peerId);
        for (const p of info.producers) {
          const pipe = m.pipesIn.get(p.id);
          if (pipe) this.dropIn(m, p.id, pipe, false);
          room?.broadcastHere({ type: 'rtc:producerClosed', producerId: p.id, peerId });
        }
        // Its data channels close here with their copies (as they do when a peer leaves).
        this.dropDataOf(m, info);
        room?.broadcastHere({ type: 'rtc:peerLeft', peerId, userId: info.userId });
      }
    }
  }

  /** Keeps what another node said of its peers (the room rebroadcasts it). */
  private apply(m: RemoteMeeting, node: string, e: SpanEvent): void {
    switch (e.type) {
      case 'rtc:peerJoined':
        m.peers.set(e.peerId, {
          node,
          info: {
            peerId: e.peerId,
            userId: e.userId,
            nickname: e.nickname,
            producers: [],
            dataProducers: [],
          },
        });
        return;
      case 'rtc:peerLeft': {
        const info = m.peers.get(e.peerId)?.info;
        m.peers.delete(e.peerId);
        // Its node closed its data producers (there is no event for that): their copies go.
        if (info) this.dropDataOf(m, info);
        return;
      }
      case 'rtc:newDataProducer':
        m.peers.get(e.peerId)?.info.dataProducers.push({
          id: e.dataProducerId,
          label: e.label,
          protocol: e.protocol,
          appData: e.appData,
        });
        return;
      case 'rtc:newProducer': {
        const info = m.peers.get(e.peerId)?.info;
        if (info && e.kind === 'audio') this.hear(m.meetingId, e.producerId);
        info?.producers.push({
          id: e.producerId,
          kind: e.kind,
          appData: e.appData,
          paused: e.paused,
        });
        return;
      }
      case 'rtc:producerClosed': {
        const info = m.peers.get(e.peerId)?.info;
        if (info) info.producers = info.producers.filter((p) => p.id !== e.producerId);
        const pipe = m.pipesIn.get(e.producerId);
        if (pipe) this.dropIn(m, e.producerId, pipe, false);
        return;
      }
      case 'rtc:producerPaused':
      case 'rtc:producerResumed': {
        const paused = e.type === 'rtc:producerPaused';
        const p = m.peers.get(e.peerId)?.info.producers.find((x) => x.id === e.producerId);
        if (p) p.paused = paused;
        // The copy follows the original (the pipe carries media, not its pause).
        void m.pipesIn
          .get(e.producerId)
          ?.ready.then(({ copy }) => {
            const producer = copy as Producer;
            return paused ? producer.pause() : producer.resume();
          })
          .catch(() => undefined);
        return;
      }
    }
  }

  /**
   * Pipes an audio producer of another node to the room's active speaker observer, so that
   * every node names the speaker among all the meeting's peers. It holds the pipe until the
   * producer closes (an Opus stream per producer and node).
   */
  private hear(meetingId: string, producerId: string): void {
    const room = this.rooms(meetingId);
    if (!room) return;
    void this.acquire(meetingId, producerId, room.speaker.router)
      .then((src) => src && room.speaker.add(producerId, src.router))
      .catch((err: unknown) =>
        this.log.warn({ event: 'span_speaker_failed', meetingId, err }, 'remote audio not heard'),
      );
  }

  /** The node of the peer (elsewhere) that has a producer or data producer `id`. */
  private nodeOf(m: RemoteMeeting, id: string): string | undefined {
    for (const { node, info } of m.peers.values()) {
      if (info.producers.some((p) => p.id === id)) return node;
      if (info.dataProducers.some((d) => d.id === id)) return node;
    }
    return undefined;
  }

  /** Closes the copies of the data producers of a peer elsewhere that is gone. */
  private dropDataOf(m: RemoteMeeting, info: RtcPeerInfo): void {
    for (const d of info.dataProducers) {
      const pipe = m.pipesIn.get(d.id);
      if (pipe) this.dropIn(m, d.id, pipe, false);
    }
  }

  /**
   * The copy of a producer or data producer of another node closed. When this node let it go
   * (`done`), that is all. Otherwise it went with a router here (the worker of the observer's
   * router died, or the room closed): the origin is told to close its end, and the peers here,
   * whose consumers of the copy closed with it, hear the producer close and come back, to
   * consume it again through a new pipe (to the observer's new router: the room moves it there
   * in a job queued in this same turn, hence the re-announcement's job is queued after it).
   */
  private copyClosed(m: RemoteMeeting, pipe: PipeIn): void {
    const id = idOf(pipe.what);
    const room = this.rooms(m.meetingId);
    for (const peer of room?.peers.values() ?? []) {
      if ('producerId' in pipe.what) peer.forgetConsumersOf(id);
      else peer.forgetDataConsumersOf(id);
    }
    if (pipe.done) return;
    this.dropIn(m, id, pipe);
    if (!room || room.closed) return;
    setImmediate(() => {
      room
        .run(() => this.reannounce(m, room, id))
        .catch((err: unknown) =>
          this.log.warn({ event: 'span_reannounce_failed', meetingId: m.meetingId, err }, 'lost'),
        );
    });
  }

  /** Tells this node's peers that a producer elsewhere whose copy here was lost is back. */
  private reannounce(m: RemoteMeeting, room: Room, id: string): void {
    if (this.meetings.get(m.meetingId) !== m || room.closed) return;
    for (const { info } of m.peers.values()) {
      const { peerId } = info;
      const p = info.producers.find((x) => x.id === id);
      if (p) {
        room.broadcastHere({ type: 'rtc:producerClosed', producerId: id, peerId });
        const { kind, appData, paused } = p;
        room.broadcastHere({
          type: 'rtc:newProducer',
          producerId: id,
          peerId,
          kind,
          appData,
          paused,
        });
        if (kind === 'audio') this.hear(m.meetingId, id);
      }
      const d = info.dataProducers.find((x) => x.id === id);
      if (d) {
        const { label, protocol, appData } = d;
        room.broadcastHere({
          type: 'rtc:newDataProducer',
          dataProducerId: id,
          peerId,
          label,
          protocol,
          appData,
        });
      }
    }
  }

  /**
   * Opens this node's end of a pipe on `router` and has the producer's node send into it (with
   * `later`, from `start` on).
   */
  private async pipeIn(
    meetingId: string,
    node: string,
    what: SpanWhat,
    router: Router,
    later: boolean,
  ): Promise<Landed> {
    const data = 'dataProducerId' in what;
    const link = await this.pool.openPipe(router, data);
    try {
      const reply = (await this.port.ask(node, {
        kind: 'span-pipe',
        meetingId,
        ...what,
        endpoint: link.local,
        ...(later ? { later } : {}),
      })) as SpanPipeReply;
      await link.connect(reply.endpoint as PipeEndpoint);
      const copy = data
        ? await link.receiveData(reply.piped as unknown as PipedDataProducer)
        : await link.receive(reply.piped as unknown as PipedProducer);
      return { link, copy, router };
    } catch (err) {
      link.close();
      throw err;
    }
  }

  /** Closes the copy of a remote producer here (and its consumers), and its pipe at the origin. */
  private dropIn(m: RemoteMeeting, producerId: string, pipe: PipeIn, tellOrigin = true): void {
    pipe.done = true;
    if ('producerId' in pipe.what) this.rooms(m.meetingId)?.speaker.remove(producerId);
    if (m.pipesIn.get(producerId) === pipe) m.pipesIn.delete(producerId);
    void pipe.ready.then(
      ({ link }) => link.close(),
      () => undefined,
    );
    if (tellOrigin) {
      this.port.tell(pipe.node, { kind: 'span-unpipe', meetingId: m.meetingId, producerId });
    }
  }

  /**
   * Sends one of this node's (data) producers to node `to`, which receives at `endpoint`: at
   * once, or with `later` when `to` says `span-start` (see `start`).
   */
  private async pipeOut(
    m: RemoteMeeting,
    room: Room,
    to: string,
    what: SpanWhat,
    endpoint: PipeEndpoint,
    later: boolean,
  ): Promise<SpanPipeReply> {
    const id = idOf(what);
    const data = 'dataProducerId' in what;
    const owner = data
      ? [...room.peers.values()].find((p) => p.dataProducers.has(id))
      : room.ownerOf(id);
    const producer = owner && (data ? owner.dataProducers.get(id) : owner.producers.get(id));
    if (!owner || !producer) throw data ? notFound('dataProducer', id) : notFound('producer', id);
    const key = `${id}>${to}`;
    m.pipesOut.get(key)?.link.close();
    const link = await this.pool.openPipe(owner.router, data);
    try {
      let connected: Promise<void> | null = null;
      const out: PipeOut = { link, start: () => (connected ??= link.connect(endpoint)) };
      // The consumer is made on the unconnected end: it asks for a key frame as it connects.
      const { consumer, piped } = data ? await link.sendData(producer) : await link.send(producer);
      if (!later) await out.start();
      m.pipesOut.set(key, out);
      // The producer closed, or its router went: the pipe goes too (the other node hears
      // rtc:producerClosed from the room, or of this node's death).
      onClose(consumer, () => {
        link.close();
        if (m.pipesOut.get(key) === out) m.pipesOut.delete(key);
      });
      return {
        endpoint: link.local,
        piped: piped as unknown as SpanPipeReply['piped'],
      };
    } catch (err) {
      link.close();
      throw err;
    }
  }
}
