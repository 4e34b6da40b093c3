/**
 * The benchmark's page (bundled by bench/calls.ts): two parties in one tab, so both cameras open
 * (Chrome opens them only for the tab in front). Each call is timed from the invite to the
 * connected media and to the first decoded remote frame, through the SDK or through two bare
 * RTCPeerConnections that signal over a minimal relay.
 */
import { ParleyClient } from '@parley/client';

/**
 * Camera size for both kinds of call: small, as the tests use, so that the two fake cameras and
 * four codecs do not starve the two cores the benchmark runs on.
 */
const VIDEO = { width: 320, height: 240, frameRate: 15 };

/** One timed call, in ms from its start. */
export interface Timing {
  connected: number;
  firstFrame: number;
}

/** Resolves at the first frame `video` presents. */
function firstFrame(video: HTMLVideoElement, stream: MediaStream): Promise<number> {
  return new Promise((resolve) => {
    video.requestVideoFrameCallback(() => resolve(performance.now()));
    video.srcObject = stream;
  });
}

function newVideo(): HTMLVideoElement {
  const v = document.createElement('video');
  v.muted = true;
  v.autoplay = true;
  v.playsInline = true;
  v.width = 160;
  document.body.append(v);
  return v;
}

/** The two parties as Parley clients: the callee answers every call at once. */
class SdkPair {
  private constructor(
    private readonly caller: ParleyClient,
    private readonly callee: ParleyClient,
    private readonly calleeId: string,
  ) {
    const nc = callee.netcall;
    nc.on('beCalling', (c) => {
      void nc.response({ ...c, accepted: true }).then(() => nc.startRtc());
    });
    const view = newVideo();
    nc.on('clientJoin', (e) => (view.srcObject = e.stream));
  }

  static async open(callerToken: string, calleeToken: string, calleeId: string) {
    const constraints = { video: VIDEO };
    const caller = new ParleyClient({ token: callerToken, constraints });
    const callee = new ParleyClient({ token: calleeToken, constraints });
    await Promise.all([caller.connect(), callee.connect()]);
    return new SdkPair(caller, callee, calleeId);
  }

  /** One video call from invite to first frame, then hung up. */
  async call(): Promise<Timing> {
    const nc = this.caller.netcall;
    const video = newVideo();
    const start = performance.now();
    const connected = new Promise<number>((resolve) => {
      const off = nc.on('mediaState', (s) => {
        if (s === 'connected') {
          off();
          resolve(performance.now());
        }
      });
    });
    const frame = new Promise<number>((resolve) => {
      const off = nc.on('clientJoin', (e) => {
        off();
        void firstFrame(video, e.stream).then(resolve);
      });
    });
    const accepted = nc.on('callAccepted', () => void nc.startRtc());
    await nc.call({ type: 2, callee: this.calleeId });
    const [c, f] = await Promise.all([connected, frame]);
    accepted();
    const ended = this.callee.netcall.next('callEnded');
    await nc.hangup();
    await ended;
    video.remove();
    return { connected: c - start, firstFrame: f - start };
  }
}

/** A relay socket: `{to, ...}` goes to the peer named `to`, arriving with `from`. */
interface RelayMessage {
  from: string;
  kind: 'offer' | 'answer' | 'ice' | 'bye';
  sdp?: string;
  candidate?: RTCIceCandidateInit | null;
}

async function relay(url: string, id: string) {
  const ws = new WebSocket(`${url}?id=${id}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return {
    send: (to: string, m: Omit<RelayMessage, 'from'>) => ws.send(JSON.stringify({ to, ...m })),
    on: (handler: (m: RelayMessage) => void) => {
      ws.onmessage = (e: MessageEvent<string>) => handler(JSON.parse(e.data) as RelayMessage);
    },
  };
}

/** The same two parties with bare RTCPeerConnections and the minimal relay. */
class BarePair {
  private constructor(
    private readonly a: Awaited<ReturnType<typeof relay>>,
    b: Awaited<ReturnType<typeof relay>>,
  ) {
    // The callee: answers every offer with its camera, trickles ICE back.
    let pc: RTCPeerConnection | null = null;
    let stream: MediaStream | null = null;
    const view = newVideo();
    b.on((m) => {
      if (m.kind === 'offer') {
        void (async () => {
          pc = new RTCPeerConnection();
          const own = pc;
          own.onicecandidate = (e) =>
            b.send('a', { kind: 'ice', candidate: e.candidate?.toJSON() ?? null });
          own.ontrack = (e) => (view.srcObject = e.streams[0] ?? null);
          await own.setRemoteDescription({ type: 'offer', sdp: m.sdp! });
          stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO });
          for (const t of stream.getTracks()) own.addTrack(t, stream);
          await own.setLocalDescription();
          b.send('a', { kind: 'answer', sdp: own.localDescription!.sdp });
        })();
      } else if (m.kind === 'ice') {
        void pc?.addIceCandidate(m.candidate ?? undefined);
      } else if (m.kind === 'bye') {
        pc?.close();
        for (const t of stream?.getTracks() ?? []) t.stop();
        b.send('a', { kind: 'bye' });
      }
    });
  }

  static async open(url: string) {
    return new BarePair(await relay(url, 'a'), await relay(url, 'b'));
  }

  async call(): Promise<Timing> {
    const video = newVideo();
    const start = performance.now();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO });
    const pc = new RTCPeerConnection();
    const connected = new Promise<number>((resolve) => {
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'connected') resolve(performance.now());
      };
    });
    const frame = new Promise<number>((resolve) => {
      pc.ontrack = (e) => {
        pc.ontrack = null;
        void firstFrame(video, e.streams[0]!).then(resolve);
      };
    });
    const bye = new Promise<void>((resolve) =>
      this.a.on((m) => {
        if (m.kind === 'answer') void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp! });
        else if (m.kind === 'ice') void pc.addIceCandidate(m.candidate ?? undefined);
        else if (m.kind === 'bye') resolve();
      }),
    );
    pc.onicecandidate = (e) =>
      this.a.send('b', { kind: 'ice', candidate: e.candidate?.toJSON() ?? null });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    await pc.setLocalDescription();
    this.a.send('b', { kind: 'offer', sdp: pc.localDescription!.sdp });
    const [c, f] = await Promise.all([connected, frame]);
    pc.close();
    for (const t of stream.getTracks()) t.stop();
    this.a.send('b', { kind: 'bye' });
    await bye;
    video.remove();
    return { connected: c - start, firstFrame: f - start };
  }
}

declare global {
  interface Window {
    /** What bench/calls.ts drives. */
    bench: {
      sdk(callerToken: string, calleeToken: string, calleeId: string): Promise<void>;
      bare(relayUrl: string): Promise<void>;
      call(kind: 'sdk' | 'bare'): Promise<Timing>;
    };
  }
}

let sdk: SdkPair | null = null;
let bare: BarePair | null = null;
window.bench = {
  async sdk(callerToken, calleeToken, calleeId) {
    sdk = await SdkPair.open(callerToken, calleeToken, calleeId);
  },
  async bare(relayUrl) {
    bare = await BarePair.open(relayUrl);
  },
  call: (kind) => (kind === 'sdk' ? sdk!.call() : bare!.call()),
};
