/**
 * The part of `@roamhq/wrtc` the tests use. The package ships typings, but they re-export the
 * DOM's RTC globals, which this project does not load (`lib: ES2023`, no DOM), so every export
 * comes out as `any`. An ambient `declare module` cannot replace a package's own typings, so
 * these are plain exported types: `import wrtc from '@roamhq/wrtc'` and cast it to `Wrtc`
 * (peer.ts does this once).
 */

/** RTCIceCandidateInit. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** RTCIceCandidate. */
export interface IceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
  readonly usernameFragment: string | null;
  toJSON(): IceCandidateInit;
}

/** RTCSessionDescriptionInit. */
export interface SessionDescriptionInit {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

export type DataChannelState = 'connecting' | 'open' | 'closing' | 'closed';

/** RTCDataChannel. */
export interface DataChannel {
  readonly label: string;
  readonly readyState: DataChannelState;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((ev: { error?: Error }) => void) | null;
  onmessage: ((ev: { data: string | ArrayBuffer }) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(): void;
}

export type PeerConnectionState =
  'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** RTCPeerConnection. */
export interface PeerConnection {
  readonly connectionState: PeerConnectionState;
  readonly iceConnectionState: string;
  readonly iceGatheringState: 'new' | 'gathering' | 'complete';
  readonly signalingState: string;
  readonly localDescription: SessionDescriptionInit | null;
  readonly remoteDescription: SessionDescriptionInit | null;
  onicecandidate: ((ev: { candidate: IceCandidate | null }) => void) | null;
  ondatachannel: ((ev: { channel: DataChannel }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  createDataChannel(
    label: string,
    init?: { ordered?: boolean; negotiated?: boolean; id?: number },
  ): DataChannel;
  createOffer(): Promise<SessionDescriptionInit>;
  createAnswer(): Promise<SessionDescriptionInit>;
  setLocalDescription(desc: SessionDescriptionInit): Promise<void>;
  setRemoteDescription(desc: SessionDescriptionInit): Promise<void>;
  /** `null` (or no argument) adds end-of-candidates. */
  addIceCandidate(candidate?: IceCandidateInit | null): Promise<void>;
  close(): void;
}

export interface PeerConnectionConfig {
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  iceTransportPolicy?: 'all' | 'relay';
}

/** The module's default export (its CommonJS `module.exports`). */
export interface Wrtc {
  RTCPeerConnection: new (config?: PeerConnectionConfig) => PeerConnection;
}
