import type { types } from 'mediasoup';

// The mediasoup types the rest of the server handles; src/sfu/ is the only importer of mediasoup.

/** A mediasoup router (one per meeting). */
export type Router = types.Router;
/** A WebRTC transport of a peer. */
export type WebRtcTransport = types.WebRtcTransport;
/** A plain RTP transport (benchmarks). */
export type PlainTransport = types.PlainTransport;
/** A published track. */
export type Producer = types.Producer;
/** A subscription to a producer. */
export type Consumer = types.Consumer;
/** A published data channel. */
export type DataProducer = types.DataProducer;
/** A subscription to a data producer. */
export type DataConsumer = types.DataConsumer;
/** Dominant speaker detection on a router. */
export type ActiveSpeakerObserver = types.ActiveSpeakerObserver;
/** RTP parameters of a producer or consumer. */
export type RtpParameters = types.RtpParameters;
/** RTP capabilities of a router or a device. */
export type RtpCapabilities = types.RtpCapabilities;
/** DTLS parameters of a transport. */
export type DtlsParameters = types.DtlsParameters;
/** The DTLS state of a WebRTC transport. */
export type DtlsState = types.DtlsState;
/** SCTP stream parameters of a data producer. */
export type SctpStreamParameters = types.SctpStreamParameters;
/** SCTP stream counts of a transport. */
export type NumSctpStreams = types.NumSctpStreams;
