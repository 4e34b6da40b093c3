import type { RtcEvent, RtcPeerInfo } from '@parley/protocol';

/**
 * What one node tells the others of a meeting they all serve peers of: its peers coming and
 * going and their producers (the room's broadcasts, which the others rebroadcast to their own
 * peers).
 */
export type SpanEvent = Extract<
  RtcEvent,
  {
    type:
      | 'rtc:peerJoined'
      | 'rtc:peerLeft'
      | 'rtc:newProducer'
      | 'rtc:producerClosed'
      | 'rtc:producerPaused'
      | 'rtc:producerResumed'
      | 'rtc:newDataProducer';
  }
>;

/** Where one end of a pipe between nodes receives (the SFU's PipeEndpoint, as the bus moves it). */
export interface SpanEndpoint {
  ip: string;
  port: number;
  srtpParameters?: { cryptoSuite: string; keyBase64: string };
}

/** A producer as it leaves its node through a pipe (the SFU's PipedProducer, likewise). */
export interface SpanPiped {
  id: string;
  kind: 'audio' | 'video';
  rtpParameters: Record<string, unknown>;
  paused: boolean;
  appData: Record<string, unknown>;
}

/** A data producer as it leaves its node through a pipe (the SFU's PipedDataProducer). */
export interface SpanPipedData {
  id: string;
  sctpStreamParameters: Record<string, unknown>;
  label: string;
  protocol: string;
  appData: Record<string, unknown>;
}

/** What a pipe between nodes carries: a producer or a data producer, by id. */
export type SpanWhat = { producerId: string } | { dataProducerId: string };

/** What a node asks of the node of a producer it wants (a request that expects a reply). */
export type SpanRequest =
  /** The peers of the meeting on the receiving node: a node that starts serving the meeting. */
  | { kind: 'span-snapshot'; meetingId: string }
  /**
   * Pipe the producer or data producer to the asking node, which receives at `endpoint`; with
   * `later`, the media flows only from the asking node's `span-start` (see MeetingSpan.start).
   */
  | ({ kind: 'span-pipe'; meetingId: string; endpoint: SpanEndpoint; later?: boolean } & SpanWhat);

/** The reply to `span-pipe`: where to send to, and the producer (or data producer) as piped. */
export interface SpanPipeReply {
  endpoint: SpanEndpoint;
  piped: SpanPiped | SpanPipedData;
}

/** What a node tells another without waiting for a reply. */
export type SpanNotice =
  | { kind: 'span-event'; meetingId: string; event: SpanEvent }
  /** The asking node needs `producerId` (a producer's or data producer's) no more: close its pipe. */
  | { kind: 'span-unpipe'; meetingId: string; producerId: string }
  /** A consumer on the asking node resumed: let the media of the pipe asked `later` flow. */
  | { kind: 'span-start'; meetingId: string; producerId: string };

/**
 * The cluster as a meeting that spans nodes sees it: which nodes serve peers of a meeting,
 * and messages to them. A single node has none (meetings stay on it).
 */
export interface MeetingSpanPort {
  readonly nodeId: string;
  /** This node serves peers of the meeting (true) or no longer does (false). */
  serving(meetingId: string, yes: boolean): Promise<void>;
  /** The other live nodes that serve peers of the meeting. */
  nodes(meetingId: string): Promise<string[]>;
  tell(nodeId: string, notice: SpanNotice): void;
  ask(nodeId: string, request: SpanRequest): Promise<unknown>;
}

/** A snapshot's reply: the peers of the meeting on the answering node. */
export type SpanSnapshot = RtcPeerInfo[];
