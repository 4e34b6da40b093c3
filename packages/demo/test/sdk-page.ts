/**
 * A page for the browser tests that drive the SDK itself rather than the demo's UI (bundled
 * beside the demo as `sdk.js`, opened as `sdk.html`): a 1:1 call between two clients in this one
 * tab (Chrome opens devices only for the tab in front), and meetings joined with
 * `joinMeeting()` by clients named by the test. Tests read what happened from `window.sdk`.
 */
import {
  ParleyClient,
  type CallRecord,
  type MediaConnectionState,
  type Meeting,
  type ParleyClientOptions,
} from '@parley/client';

/** Client options a test may set. */
export type PageClientOptions = Pick<ParleyClientOptions, 'mediaTimeoutMs' | 'iceTransportPolicy'>;

/** A remote track of a joined meeting, as the page sees it. */
export interface PageTrack {
  peerId: string;
  kind: string;
  readyState: MediaStreamTrackState;
}

/** A joined meeting as the page sees it. */
export interface PageMeeting {
  peerId: string;
  activeSpeaker: string | null;
  peers: number;
  tracks: PageTrack[];
}

/** What the page exposes to the tests. */
export interface SdkPage {
  /** Every media state each side of the current call went through. */
  states: { caller: MediaConnectionState[]; callee: MediaConnectionState[] };
  /**
   * An audio call from the caller's client to `callee` (the callee's client, also in this tab,
   * answers and starts its media at once); resolves with the call id once it rings.
   */
  call(
    callerToken: string,
    calleeToken: string,
    callee: string,
    o: PageClientOptions,
  ): Promise<string>;
  /** Local ICE candidates of the caller's connection (from its stats). */
  localCandidates(): Promise<number>;
  /** The caller hangs up; resolves with the call's record, then both clients disconnect. */
  hangup(): Promise<CallRecord>;
  /**
   * Joins a meeting with `joinMeeting()` as client `name` (publishing the microphone if `mic`);
   * resolves once it has, with how long `joinMeeting()` took in ms.
   */
  joinMeeting(name: string, token: string, meetingId: string, mic?: boolean): Promise<number>;
  /** Client `name`'s meeting: its peers and the remote tracks it receives. */
  meeting(name: string): PageMeeting;
}

declare global {
  interface Window {
    sdk: SdkPage;
  }
}

let pair: { caller: ParleyClient; callee: ParleyClient } | null = null;
const meetings = new Map<string, Meeting>();

window.sdk = {
  states: { caller: [], callee: [] },

  async call(callerToken, calleeToken, callee, o) {
    const caller = new ParleyClient({ token: callerToken, ...o });
    const answerer = new ParleyClient({ token: calleeToken, ...o });
    await Promise.all([caller.connect(), answerer.connect()]);
    pair = { caller, callee: answerer };
    this.states = { caller: [], callee: [] };
    caller.netcall.on('mediaState', (s) => this.states.caller.push(s));
    answerer.netcall.on('mediaState', (s) => this.states.callee.push(s));
    answerer.netcall.on('beCalling', (c) => {
      void answerer.netcall
        .response({ ...c, accepted: true })
        .then(() => answerer.netcall.startRtc());
    });
    caller.netcall.on('callAccepted', () => void caller.netcall.startRtc());
    return (await caller.netcall.call({ type: 1, account: callee })).cid;
  },

  async localCandidates() {
    const report = await pair!.caller.netcall.getStats();
    return [...report.values()].filter((s: { type: string }) => s.type === 'local-candidate')
      .length;
  },

  async hangup() {
    const { caller, callee } = pair!;
    const cid = caller.netcall.cid!;
    const record = new Promise<CallRecord>((resolve) => {
      caller.netcall.on('callRecord', (r) => {
        if (r.callId === cid) resolve(r);
      });
    });
    await caller.netcall.hangup();
    const r = await record;
    caller.disconnect();
    callee.disconnect();
    pair = null;
    return r;
  },

  async joinMeeting(name, token, meetingId, mic = false) {
    const client = new ParleyClient({ token });
    await client.connect();
    const start = performance.now();
    const meeting = await client.joinMeeting(meetingId);
    const ms = performance.now() - start;
    meetings.set(name, meeting);
    if (mic) await meeting.publish({ audio: true, video: false });
    return ms;
  },

  meeting(name) {
    const m = meetings.get(name)!;
    const peers = [...m.peers.values()];
    return {
      peerId: m.peerId,
      activeSpeaker: m.activeSpeaker,
      peers: peers.length,
      tracks: peers.flatMap((p) =>
        [...p.tracks.values()].map((t) => ({
          peerId: t.peerId,
          kind: t.kind,
          readyState: t.track.readyState,
        })),
      ),
    };
  },
};
