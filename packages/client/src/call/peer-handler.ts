import type { IceServer, Media } from '@parley/protocol';
import type { Emitter } from '../emitter.ts';

/**
 * What a 1:1 call needs from WebRTC, as one interface (mediasoup-client's HandlerInterface is the
 * model): BrowserPeerHandler implements it on RTCPeerConnection and getUserMedia, and the unit
 * tests run the whole call API in Node against a fake one.
 */

/** A signal for the other party's device. */
export type PeerSignal =
  | { kind: 'offer' | 'answer'; sdp: string }
  /** `null` is end-of-candidates. */
  | { kind: 'ice'; candidate: RTCIceCandidateInit | null };

/** The media connection of a call. `reconnecting`: an ICE restart is under way. */
export type MediaConnectionState =
  'new' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** Camera and microphone constraints; `true` is the default device. */
export interface MediaConstraints {
  audio?: MediaTrackConstraints | boolean;
  video?: MediaTrackConstraints | boolean;
}

/** How a handler starts. */
export interface PeerStartOptions extends MediaConstraints {
  media: Media;
  /** The polite side yields when both offer at once (perfect negotiation): the callee. */
  polite: boolean;
  iceServers: IceServer[];
  /** `relay`: candidates through TURN only. */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

/** The kinds of input device a call can switch between. */
export type InputKind = 'audioinput' | 'videoinput';

/** Events of a peer handler. */
export type PeerHandlerEvents = {
  /** A signal to relay to the other party (offer, answer, ICE candidate). */
  signal: [PeerSignal];
  /** The local camera/microphone stream (also after a device switch or camera toggle). */
  localStream: [MediaStream];
  /** The other party's media arrived. */
  remoteStream: [MediaStream];
  /** The media connection state changed. */
  state: [MediaConnectionState];
};

/** One side of a 1:1 call's media. */
export interface PeerHandler extends Emitter<PeerHandlerEvents> {
  /** Opens the camera and microphone for `media` and creates the connection. */
  start(options: PeerStartOptions): Promise<MediaStream>;
  /** The calling side: sends the local tracks, which makes the handler emit an offer. */
  call(): void;
  /** A signal from the other party, applied in arrival order. */
  receive(signal: PeerSignal): Promise<void>;
  /** Restarts ICE (the connection failed, or the network changed). */
  restartIce(): void;
  /** Turns the microphone on or off (the track stays, muted). */
  setAudioEnabled(on: boolean): void;
  /** Turns the camera on or off (off releases it). */
  setVideoEnabled(on: boolean): Promise<void>;
  /** Moves the call to another microphone or camera. */
  switchDevice(kind: InputKind, deviceId: string): Promise<void>;
  /** The connection's statistics. */
  getStats(): Promise<RTCStatsReport>;
  /** Ends the media: closes the connection and releases the devices. Idempotent. */
  close(): void;
}

/** Makes a fresh handler for each call. */
export type PeerHandlerFactory = () => PeerHandler;
