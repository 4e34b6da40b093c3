/**
 * Meetings on the SFU (`rtc:*`, specs/meeting-sfu.md). Media descriptions (RTP parameters and
 * capabilities, DTLS and SCTP parameters) travel in mediasoup's JSON shapes; the protocol keeps
 * them opaque, the dialects check their outline and the SFU their meaning.
 */

/** A media description in mediasoup's JSON shape (RtpParameters, DtlsParameters, ...). */
export type MediaJson = { readonly [key: string]: unknown };

/** Free-form application data a client attaches to a producer or data producer. */
export type AppData = { readonly [key: string]: unknown };

/**
 * What a meeting `not_found` error is about, in its `details.resource`: the meeting dialect
 * gives each its own code (40401 meeting, 40402 transport, 40403 producer, ...).
 */
export type RtcResource = 'meeting' | 'transport' | 'producer' | 'consumer' | 'dataProducer';

/** The two media kinds a producer carries. */
export type MediaKind = 'audio' | 'video';

/** A meeting as the REST API shows it (`/api/meetings`). */
export interface MeetingInfo {
  meetingId: string;
  title: string | null;
  hostId: string;
  status: 'active' | 'ended';
  /** ISO times. */
  createdAt: string;
  endedAt: string | null;
  endedBy: string | null;
}

/** One stay of a user in a meeting (`/api/meetings/:id/participants`). */
export interface MeetingParticipant {
  meetingId: string;
  userId: string;
  nickname: string;
  role: 'host' | 'participant';
  /** ISO times; `leftAt` is null while the user is in the meeting. */
  joinedAt: string;
  leftAt: string | null;
}

/** Fields every rtc command carries: the meeting it is about. */
interface RtcBase {
  meetingId: string;
}

/** Enter the meeting's media room; the sender must have joined the meeting through REST. */
export interface RtcJoinCommand extends RtcBase {
  type: 'rtc:join';
}
/** The router's RTP capabilities, for mediasoup-client's `device.load()`. */
export interface RtcCapabilitiesCommand extends RtcBase {
  type: 'rtc:getRouterRtpCapabilities';
}
/** Create a WebRTC transport; with `sctpCapabilities` it also carries data channels. */
export interface RtcCreateTransportCommand extends RtcBase {
  type: 'rtc:createTransport';
  direction: 'send' | 'recv';
  sctpCapabilities?: MediaJson;
}
/** Complete a transport's DTLS handshake with the client's parameters. */
export interface RtcConnectTransportCommand extends RtcBase {
  type: 'rtc:connectTransport';
  transportId: string;
  dtlsParameters: MediaJson;
}
/** Publish a track on one of the sender's send transports. */
export interface RtcProduceCommand extends RtcBase {
  type: 'rtc:produce';
  transportId: string;
  kind: MediaKind;
  rtpParameters: MediaJson;
  appData: AppData;
  paused: boolean;
}
/** Subscribe to a producer; the consumer starts paused until `rtc:resumeConsumer`. */
export interface RtcConsumeCommand extends RtcBase {
  type: 'rtc:consume';
  producerId: string;
  rtpCapabilities: MediaJson;
  /** Which of the sender's recv transports; default: the most recent one. */
  transportId?: string;
}
/** Commands that name one of the sender's producers. */
export interface RtcProducerCommand extends RtcBase {
  type: 'rtc:closeProducer' | 'rtc:pauseProducer' | 'rtc:resumeProducer' | 'rtc:getProducerStats';
  producerId: string;
}
/** Commands that name one of the sender's consumers. */
export interface RtcConsumerCommand extends RtcBase {
  type:
    | 'rtc:resumeConsumer'
    | 'rtc:pauseConsumer'
    | 'rtc:requestConsumerKeyFrame'
    | 'rtc:getConsumerStats';
  consumerId: string;
}
/** Choose the simulcast/SVC layers a consumer forwards (at most these). */
export interface RtcConsumerLayersCommand extends RtcBase {
  type: 'rtc:setConsumerPreferredLayers';
  consumerId: string;
  spatialLayer: number;
  temporalLayer?: number;
}
/** Bandwidth priority of a consumer among the transport's consumers (1–255). */
export interface RtcConsumerPriorityCommand extends RtcBase {
  type: 'rtc:setConsumerPriority';
  consumerId: string;
  priority: number;
}
/** Commands that name one of the sender's transports. */
export interface RtcTransportCommand extends RtcBase {
  type: 'rtc:restartIce' | 'rtc:getTransportStats';
  transportId: string;
}
/** Open a data channel (SCTP) toward the SFU on a send transport created with SCTP. */
export interface RtcProduceDataCommand extends RtcBase {
  type: 'rtc:produceData';
  transportId: string;
  sctpStreamParameters: MediaJson;
  label: string;
  protocol: string;
  appData: AppData;
}
/** Receive another peer's data channel on a recv transport created with SCTP. */
export interface RtcConsumeDataCommand extends RtcBase {
  type: 'rtc:consumeData';
  dataProducerId: string;
  transportId?: string;
}
/** Leave the media room (the REST participation stays). */
export interface RtcLeaveCommand extends RtcBase {
  type: 'rtc:leave';
}

/** Every meeting signaling command. */
export type RtcCommand =
  | RtcJoinCommand
  | RtcCapabilitiesCommand
  | RtcCreateTransportCommand
  | RtcConnectTransportCommand
  | RtcProduceCommand
  | RtcConsumeCommand
  | RtcProducerCommand
  | RtcConsumerCommand
  | RtcConsumerLayersCommand
  | RtcConsumerPriorityCommand
  | RtcTransportCommand
  | RtcProduceDataCommand
  | RtcConsumeDataCommand
  | RtcLeaveCommand;

/** The name of every rtc command. */
export type RtcCommandType = RtcCommand['type'];

/** A producer as other peers see it. */
export interface RtcProducerInfo {
  id: string;
  kind: MediaKind;
  appData: AppData;
  paused: boolean;
}

/** A data producer as other peers see it. */
export interface RtcDataProducerInfo {
  id: string;
  label: string;
  protocol: string;
  appData: AppData;
}

/** A peer in the media room: one device of a user. */
export interface RtcPeerInfo {
  peerId: string;
  userId: string;
  nickname: string;
  producers: RtcProducerInfo[];
  dataProducers: RtcDataProducerInfo[];
}

/** The dominant speaker of a meeting's media room: a peer and its audio producer. */
export interface RtcSpeaker {
  peerId: string;
  producerId: string;
}

/** `rtc:joined`: this connection's peer, who is there already, and who is speaking. */
export interface RtcJoined {
  peerId: string;
  peers: RtcPeerInfo[];
  /**
   * The dominant speaker now (extension), or null when none was named yet or it left:
   * `rtc:activeSpeaker` comes only when it changes, which may not happen for a long while.
   */
  activeSpeaker: RtcSpeaker | null;
}

/** Fields every rtc event carries. */
interface RtcEventBase {
  meetingId: string;
}

/** Another peer published a track. */
export interface RtcNewProducerEvent extends RtcEventBase {
  type: 'rtc:newProducer';
  producerId: string;
  peerId: string;
  kind: MediaKind;
  appData: AppData;
  paused: boolean;
}
/** A producer closed (its owner closed it or left). */
export interface RtcProducerClosedEvent extends RtcEventBase {
  type: 'rtc:producerClosed';
  producerId: string;
  peerId: string;
}
/** A producer was paused or resumed by its owner (mute). */
export interface RtcProducerPausedEvent extends RtcEventBase {
  type: 'rtc:producerPaused' | 'rtc:producerResumed';
  producerId: string;
  peerId: string;
}
/** A peer entered the media room. */
export interface RtcPeerJoinedEvent extends RtcEventBase {
  type: 'rtc:peerJoined';
  peerId: string;
  userId: string;
  nickname: string;
}
/** A peer left the media room (rtc:leave, REST leave, or its connection dropped). */
export interface RtcPeerLeftEvent extends RtcEventBase {
  type: 'rtc:peerLeft';
  peerId: string;
  userId: string;
}
/** The recipient's own peer was removed from the room (REST leave from any of its devices). */
export interface RtcLeftEvent extends RtcEventBase {
  type: 'rtc:left';
  peerId: string;
}
/** The host ended the meeting; all media is closed. */
export interface RtcMeetingEndedEvent extends RtcEventBase {
  type: 'rtc:meetingEnded';
  endedBy: string;
  /** ISO time. */
  endedAt: string;
}
/**
 * The room's media was lost (its SFU worker died, the server is shutting down, or, in a
 * cluster, the node that held the room died). Every peer was removed; the participation
 * stays, so clients may `rtc:join` again.
 */
export interface RtcMediaResetEvent extends RtcEventBase {
  type: 'rtc:mediaReset';
  reason: 'worker_died' | 'shutdown' | 'node_lost';
}
/** The loudest speaker changed. */
export interface RtcActiveSpeakerEvent extends RtcEventBase, RtcSpeaker {
  type: 'rtc:activeSpeaker';
}
/** A consumer of the recipient now forwards other simulcast/SVC layers (null: none). */
export interface RtcConsumerLayersEvent extends RtcEventBase {
  type: 'rtc:consumerLayersChanged';
  consumerId: string;
  spatialLayer: number | null;
  temporalLayer: number | null;
}
/** Another peer opened a data channel. */
export interface RtcNewDataProducerEvent extends RtcEventBase {
  type: 'rtc:newDataProducer';
  dataProducerId: string;
  peerId: string;
  label: string;
  protocol: string;
  appData: AppData;
}

/** Every meeting event. */
export type RtcEvent =
  | RtcNewProducerEvent
  | RtcProducerClosedEvent
  | RtcProducerPausedEvent
  | RtcPeerJoinedEvent
  | RtcPeerLeftEvent
  | RtcLeftEvent
  | RtcMeetingEndedEvent
  | RtcMediaResetEvent
  | RtcActiveSpeakerEvent
  | RtcConsumerLayersEvent
  | RtcNewDataProducerEvent;

/** True for meeting events (`rtc:*`). */
export function isRtcEvent(e: { type: string }): e is RtcEvent {
  return e.type.startsWith('rtc:');
}
