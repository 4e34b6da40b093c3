import wrtcModule from '@roamhq/wrtc';
import type { Frame, TestClient } from './harness.ts';
import type { DataChannel, IceCandidate, IceCandidateInit, Wrtc } from './wrtc.d.ts';

/**
 * Real WebRTC over Parley: two `@roamhq/wrtc` peer connections that signal through the server.
 * The signalling is dialect-agnostic: each dialect only has to provide a `SignalingAdapter`
 * (how an offer/answer/ICE candidate is put on its wire and recognised coming back).
 */

const wrtc = wrtcModule as unknown as Wrtc;

/** What one party receives from the other through the server. */
export type Signal =
  | { kind: 'offer'; sdp: string }
  | { kind: 'answer'; sdp: string }
  /** `candidate: null` is end-of-candidates. */
  | { kind: 'ice'; candidate: IceCandidateInit | null }
  /** The server refused one of this party's signals; connectPeers fails with it. */
  | { kind: 'error'; message: string };

/** One party's signalling channel, in whatever dialect its client speaks. */
export interface SignalingAdapter {
  /** For messages: who this is, e.g. `alice (native)`. */
  readonly name: string;
  sendOffer(sdp: string): void;
  sendAnswer(sdp: string): void;
  /** `null` sends end-of-candidates. */
  sendIce(candidate: IceCandidateInit | null): void;
  /**
   * Whether the dialect carries end-of-candidates (`sendIce(null)` and back); default true. If
   * either party's dialect does not, connectPeers neither sends nor waits for it.
   */
  readonly endOfCandidates?: boolean;
  /** Delivers every signal from the other party, in arrival order. Returns the unsubscribe. */
  listen(handler: (signal: Signal) => void): () => void;
}

/**
 * Builds an adapter from a dialect's two halves: `encode` turns an outgoing signal into the frame
 * `TestClient.send` takes (an object is sent as JSON, a Buffer as binary), `decode` recognises an
 * incoming frame as a signal of this call (or returns null: not ours, leave it queued).
 */
export function frameAdapter(
  client: TestClient,
  name: string,
  encode: (signal: Exclude<Signal, { kind: 'error' }>) => unknown,
  decode: (frame: Frame) => Signal | null,
): SignalingAdapter {
  return {
    name,
    sendOffer: (sdp) => client.send(encode({ kind: 'offer', sdp })),
    sendAnswer: (sdp) => client.send(encode({ kind: 'answer', sdp })),
    sendIce: (candidate) => client.send(encode({ kind: 'ice', candidate })),
    listen(handler) {
      return client.subscribe(
        (f) => decode(f) !== null,
        (f) => handler(decode(f)!),
      );
    },
  };
}

const NATIVE_TYPE = { offer: 'call:offer', answer: 'call:answer', ice: 'call:ice' } as const;

/** Native dialect (`/ws`): `{type:"call:offer"|"call:answer"|"call:ice", data:{callId,...}}`. */
export function nativeSignaling(
  client: TestClient,
  callId: string,
  name = 'native',
): SignalingAdapter {
  return frameAdapter(
    client,
    name,
    (s) => ({
      type: NATIVE_TYPE[s.kind],
      data: s.kind === 'ice' ? { callId, candidate: s.candidate } : { callId, sdp: s.sdp },
    }),
    (f) => {
      // Errors to commands sent without a requestId (relayed signals are) carry no call id.
      if (f.type === 'error' && f.requestId === undefined) {
        return { kind: 'error', message: `${f.error?.code}: ${f.error?.message}` };
      }
      if (f.data?.callId !== callId) return null;
      if (f.type === 'call:offer') return { kind: 'offer', sdp: f.data.sdp };
      if (f.type === 'call:answer') return { kind: 'answer', sdp: f.data.sdp };
      if (f.type === 'call:ice') return { kind: 'ice', candidate: f.data.candidate ?? null };
      return null;
    },
  );
}

const VC_TYPE = { offer: 'rtc_offer', answer: 'rtc_answer', ice: 'rtc_ice_candidate' } as const;
const VC_REQUESTS: readonly string[] = Object.values(VC_TYPE);

/**
 * video_call dialect (`/ws/video-call`), as specs/video-call-json.md: the call is named by its
 * two parties. `callId` is optional (Parley's `call_id` extension); without it the frames are
 * exactly the spec's.
 */
export function videoCallSignaling(
  client: TestClient,
  call: { caller: string; callee: string; callId?: string },
  name = 'video_call',
): SignalingAdapter {
  const parties = {
    caller_userid: call.caller,
    callee_userid: call.callee,
    ...(call.callId ? { call_id: call.callId } : {}),
  };
  return frameAdapter(
    client,
    name,
    (s) => ({
      type: 'video_call',
      data:
        s.kind === 'ice'
          ? { type: VC_TYPE.ice, ...parties, candidate: s.candidate }
          : { type: VC_TYPE[s.kind], ...parties, sdp: s.sdp, sdp_type: s.kind },
    }),
    (f) => {
      const d = f.type === 'video_call' ? f.data : undefined;
      if (!d) return null;
      const request: unknown = d.request_type;
      if (d.type === 'error' && typeof request === 'string' && VC_REQUESTS.includes(request)) {
        return { kind: 'error', message: `${d.request_type}: ${d.code}: ${d.message}` };
      }
      if (d.caller_userid !== call.caller || d.callee_userid !== call.callee) return null;
      if (call.callId && d.call_id !== undefined && d.call_id !== call.callId) return null;
      if (d.type === VC_TYPE.offer) return { kind: 'offer', sdp: d.sdp };
      if (d.type === VC_TYPE.answer) return { kind: 'answer', sdp: d.sdp };
      if (d.type === VC_TYPE.ice) return { kind: 'ice', candidate: d.candidate ?? null };
      return null;
    },
  );
}

export interface ConnectOptions {
  /** Whole negotiation + round trip, in ms (default 10 000). */
  timeoutMs?: number;
  /** What the caller sends once the channel is open (default `hello from <caller.name>`). */
  callerMessage?: string;
  /** What the callee replies (default `hello from <callee.name>`). */
  calleeMessage?: string;
  /** Data channel label (default `parley`). */
  label?: string;
}

/** Signals one side put on the wire / got from the other. */
export interface SignalCounts {
  sent: { sdp: number; ice: number; endOfCandidates: boolean };
  received: { sdp: number; ice: number; endOfCandidates: boolean };
}

/** A connected pair. Both connections stay up until `close()`. */
export interface PeerLink {
  /** What the callee received on the data channel. */
  calleeReceived: string;
  /** What the caller received back. */
  callerReceived: string;
  /** `performance.now()` when the channel was open on both sides. */
  openedAt: number;
  /** ms from the start of `connectPeers` to the channel being open on both sides. */
  openMs: number;
  /** ms from the start of `connectPeers` to the reply being received. */
  roundTripMs: number;
  /** What went through the server (ICE counts include the end-of-candidates). */
  signals: { caller: SignalCounts; callee: SignalCounts };
  /** Unsubscribes the signalling and closes both channels and connections (idempotent). */
  close(): void;
}

/** Every connection not closed yet, for `closeAllPeers`. */
const live = new Set<() => void>();

/**
 * Closes every connection `connectPeers` opened that is still open. wrtc keeps the process alive
 * while any RTCPeerConnection is open; call this in an `after()` hook as a safety net.
 */
export function closeAllPeers(): void {
  for (const close of [...live]) close();
}

/** One side: a connection, its signalling, and the ordered processing of what it receives. */
class Side {
  readonly pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  channel: DataChannel | null = null;
  readonly counts: SignalCounts = {
    sent: { sdp: 0, ice: 0, endOfCandidates: false },
    received: { sdp: 0, ice: 0, endOfCandidates: false },
  };
  /** Resolves once the peer's end-of-candidates was added. */
  readonly remoteGathered: Promise<void>;
  private gathered = (): void => {};
  private queue: Promise<void> = Promise.resolve();
  /** Local candidates wait until our description is on the wire; remote ones until theirs is set. */
  private described = false;
  private localIce: Array<IceCandidateInit | null> = [];
  private remoteIce: Array<IceCandidateInit | null> = [];
  private unlisten: () => void;
  closed = false;

  constructor(
    readonly role: 'caller' | 'callee',
    readonly adapter: SignalingAdapter,
    private readonly fail: (err: Error) => void,
    private readonly sendEnd: boolean,
  ) {
    this.remoteGathered = new Promise((resolve) => {
      this.gathered = resolve;
    });
    this.pc.onicecandidate = (ev) => {
      const c = ev.candidate ? toInit(ev.candidate) : null;
      if (this.described) this.sendIce(c);
      else this.localIce.push(c);
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed')
        this.fail(new Error(`${this.label} ICE/DTLS failed`));
    };
    this.unlisten = adapter.listen((s) => {
      // Each signal is handled after the previous one finished, in arrival order.
      this.queue = this.queue
        .then(() => this.handle(s))
        .catch((err: unknown) => {
          if (!this.closed) this.fail(err instanceof Error ? err : new Error(String(err)));
        });
    });
  }

  get label(): string {
    return `${this.role} ${this.adapter.name}`;
  }

  state(): string {
    const pc = this.pc;
    return (
      `${this.label}: signaling=${pc.signalingState} ice=${pc.iceConnectionState} ` +
      `connection=${pc.connectionState} channel=${this.channel?.readyState ?? 'none'} ` +
      `sent ${count(this.counts.sent)}, received ${count(this.counts.received)}`
    );
  }

  /** Puts our description on the wire, then the candidates gathered meanwhile. */
  sendDescription(kind: 'offer' | 'answer'): void {
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error(`${this.label} has no local description`);
    if (kind === 'offer') this.adapter.sendOffer(sdp);
    else this.adapter.sendAnswer(sdp);
    this.counts.sent.sdp++;
    this.described = true;
    for (const c of this.localIce.splice(0)) this.sendIce(c);
  }

  private sendIce(c: IceCandidateInit | null): void {
    if (this.closed || (c === null && !this.sendEnd)) return;
    try {
      this.adapter.sendIce(c);
    } catch (err) {
      // Called from a wrtc event: a throw here would be an uncaught exception.
      this.fail(new Error(`${this.label} could not send a candidate: ${String(err)}`));
      return;
    }
    this.counts.sent.ice++;
    if (c === null) this.counts.sent.endOfCandidates = true;
  }

  private async addIce(c: IceCandidateInit | null): Promise<void> {
    await this.pc.addIceCandidate(c);
    if (c === null) this.gathered();
  }

  private async handle(s: Signal): Promise<void> {
    if (this.closed) return;
    switch (s.kind) {
      case 'error':
        throw new Error(`server refused a signal of ${this.label}: ${s.message}`);
      case 'offer':
      case 'answer': {
        this.counts.received.sdp++;
        const expected = this.role === 'caller' ? 'answer' : 'offer';
        if (s.kind !== expected) throw new Error(`${this.label} got an unexpected ${s.kind}`);
        await this.pc.setRemoteDescription({ type: s.kind, sdp: s.sdp });
        if (s.kind === 'offer') {
          await this.pc.setLocalDescription(await this.pc.createAnswer());
          this.sendDescription('answer');
        }
        for (const c of this.remoteIce.splice(0)) await this.addIce(c);
        return;
      }
      case 'ice':
        this.counts.received.ice++;
        if (s.candidate === null) this.counts.received.endOfCandidates = true;
        if (!this.pc.remoteDescription) this.remoteIce.push(s.candidate);
        else await this.addIce(s.candidate);
        return;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.ondatachannel = null;
    if (this.channel) {
      this.channel.onopen = this.channel.onmessage = this.channel.onclose = null;
      this.channel.close();
    }
    this.pc.close();
  }
}

function count(c: SignalCounts['sent']): string {
  return `sdp=${c.sdp} ice=${c.ice}${c.endOfCandidates ? ' (incl. end)' : ''}`;
}

function toInit(c: IceCandidate): IceCandidateInit {
  const init: IceCandidateInit = {
    candidate: c.candidate,
    sdpMid: c.sdpMid,
    sdpMLineIndex: c.sdpMLineIndex,
  };
  if (c.usernameFragment) init.usernameFragment = c.usernameFragment;
  return init;
}

function opened(ch: DataChannel): Promise<void> {
  if (ch.readyState === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    ch.onopen = () => resolve();
  });
}

function nextMessage(ch: DataChannel): Promise<string> {
  return new Promise((resolve) => {
    ch.onmessage = (ev) => {
      ch.onmessage = null;
      resolve(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8'));
    };
  });
}

/**
 * Drives a real RTCPeerConnection pair through the server: the caller creates a data channel
 * and an offer, the callee answers, both trickle every ICE candidate (end-of-candidates `null`
 * included) as it is gathered; once the channel is open on both sides the caller sends a
 * message and the callee replies. Call it after the call was accepted. Resolves, once each side
 * also got the other's end-of-candidates (where the dialects carry it), with what each side
 * received; rejects (and closes everything) on a server error, an ICE failure or timeout.
 */
export async function connectPeers(
  caller: SignalingAdapter,
  callee: SignalingAdapter,
  opts: ConnectOptions = {},
): Promise<PeerLink> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const start = performance.now();
  let step = 'creating the offer';
  let failed: (err: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    failed = reject;
  });
  const fail = (err: Error): void => failed(err);
  const withEnd = caller.endOfCandidates !== false && callee.endOfCandidates !== false;
  const a = new Side('caller', caller, fail, withEnd);
  const b = new Side('callee', callee, fail, withEnd);
  const close = (): void => {
    a.close();
    b.close();
    live.delete(close);
  };
  live.add(close);
  const timer = setTimeout(
    () =>
      fail(
        new Error(
          `connectPeers(${caller.name} -> ${callee.name}) timed out after ${timeoutMs} ms ` +
            `while ${step}\n  ${a.state()}\n  ${b.state()}`,
        ),
      ),
    timeoutMs,
  );

  const run = async (): Promise<PeerLink> => {
    const calleeChannel = new Promise<DataChannel>((resolve) => {
      b.pc.ondatachannel = (ev) => {
        b.channel = ev.channel;
        resolve(ev.channel);
      };
    });
    const ch = (a.channel = a.pc.createDataChannel(opts.label ?? 'parley'));
    const callerOpen = opened(ch);
    await a.pc.setLocalDescription(await a.pc.createOffer());
    a.sendDescription('offer');

    step = 'waiting for the data channel to open';
    const remote = await calleeChannel;
    // Listen before anything can be sent on it.
    const calleeGot = nextMessage(remote);
    await Promise.all([callerOpen, opened(remote)]);
    const openedAt = performance.now();

    step = 'exchanging messages';
    const callerGot = nextMessage(ch);
    ch.send(opts.callerMessage ?? `hello from ${caller.name}`);
    const calleeReceived = await calleeGot;
    remote.send(opts.calleeMessage ?? `hello from ${callee.name}`);
    const callerReceived = await callerGot;
    const roundTripMs = performance.now() - start;

    step = 'waiting for end-of-candidates';
    if (withEnd) await Promise.all([a.remoteGathered, b.remoteGathered]);
    return {
      calleeReceived,
      callerReceived,
      openedAt,
      openMs: openedAt - start,
      roundTripMs,
      signals: { caller: a.counts, callee: b.counts },
      close,
    };
  };

  try {
    return await Promise.race([run(), failure]);
  } catch (err) {
    close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
