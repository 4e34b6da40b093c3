import type { BeCallingEvent, CallQuality, EndReason } from '@parley/client';
import { avatar, clock, h, icon, message, toast } from './dom.ts';
import type { App, Screen } from './main.ts';

/** How the call screen was opened: placing a call, or answering one. */
export type CallStart =
  | { kind: 'outgoing'; callee: string; calleeName: string; video: boolean }
  | { kind: 'incoming'; call: BeCallingEvent };

const ENDED: Partial<Record<EndReason, string>> = {
  no_answer: 'No answer',
  offline: 'is offline',
  cancelled: 'Call cancelled',
  disconnected: 'Connection lost',
  failed: 'Call failed',
  shutdown: 'The server is restarting',
};

const QUALITY_BARS: Record<CallQuality['level'], number> = {
  excellent: 4,
  good: 3,
  poor: 1,
  lost: 0,
};

/**
 * The call: "Calling…" while it rings, then the other party's video with ours in a corner,
 * a timer, connection quality, and mute / camera / hang-up. Back to the lobby when it ends.
 */
export function callScreen(app: App, start: CallStart): Screen {
  const nc = app.client!.netcall;
  const peer = start.kind === 'outgoing' ? start.callee : start.call.caller;
  const peerName = start.kind === 'outgoing' ? start.calleeName : start.call.callerName;
  const video = start.kind === 'outgoing' ? start.video : start.call.type === 2;
  let cid = start.kind === 'incoming' ? start.call.cid : '';
  let connectedAt = 0;
  let done = false;
  /** Events of this screen's call (an outgoing call has its id once the invite is placed). */
  const mine = (e: { cid: string }) => e.cid === (cid || nc.cid);

  const status = h('div', { class: 'call-status', 'data-testid': 'call-status' }, 'Calling…');
  const timer = h('div', { class: 'call-timer', 'data-testid': 'call-timer' }, '');
  const bars = h(
    'div',
    { class: 'bars', 'data-testid': 'call-quality', 'data-level': 'unknown', title: 'Connection' },
    h('i'),
    h('i'),
    h('i'),
    h('i'),
  );
  const remoteVideo = h('video', {
    class: 'remote-video',
    'data-testid': 'remote-video',
    autoplay: true,
    playsinline: true,
    muted: true,
  });
  remoteVideo.muted = true;
  const remoteAudio = h('audio', { autoplay: true, 'data-testid': 'remote-audio' });
  const localVideo = h('video', {
    class: 'local-video',
    'data-testid': 'local-video',
    autoplay: true,
    playsinline: true,
    muted: true,
  });
  localVideo.muted = true;
  const placeholder = h(
    'div',
    { class: 'call-placeholder' },
    h('div', { class: 'pulse' }, avatar(peer, peerName, 'lg')),
  );

  const muteBtn = h(
    'button',
    { class: 'round ghost', 'data-testid': 'btn-mute', title: 'Mute', 'aria-pressed': 'false' },
    icon('mic'),
  );
  const camBtn = h(
    'button',
    { class: 'round ghost', 'data-testid': 'btn-camera', title: 'Camera', 'aria-pressed': 'false' },
    icon('video'),
  );
  const hangupBtn = h(
    'button',
    { class: 'round danger', 'data-testid': 'btn-hangup', title: 'Hang up' },
    icon('hangup'),
  );
  muteBtn.onclick = () => {
    const muted = !nc.isMuted;
    nc.setMuted(muted);
    muteBtn.setAttribute('aria-pressed', String(muted));
    muteBtn.replaceChildren(icon(muted ? 'micOff' : 'mic'));
  };
  camBtn.onclick = () => {
    const on = !nc.isCameraOn;
    camBtn.disabled = true;
    nc.setCamera(on)
      .then(() => {
        camBtn.setAttribute('aria-pressed', String(!on));
        camBtn.replaceChildren(icon(on ? 'video' : 'videoOff'));
        el.classList.toggle('camera-off', !on);
      })
      .catch((e: unknown) => toast(message(e), 'error'))
      .finally(() => (camBtn.disabled = false));
  };
  hangupBtn.onclick = () => {
    nc.hangup().catch(() => undefined);
  };

  const el = h(
    'div',
    { class: `call ${video ? 'is-video' : 'is-audio'}`, 'data-testid': 'call-screen' },
    placeholder,
    remoteVideo,
    remoteAudio,
    h(
      'div',
      { class: 'call-top' },
      h('div', { class: 'call-peer' }, h('div', { class: 'call-name' }, peerName), status),
      h('div', { class: 'call-meta' }, timer, bars),
    ),
    video ? localVideo : null,
    h('div', { class: 'call-controls' }, muteBtn, video ? camBtn : null, hangupBtn),
  );

  const tick = setInterval(() => {
    if (connectedAt) timer.textContent = clock((Date.now() - connectedAt) / 1000);
  }, 500);

  const finish = (text: string | null, kind: 'info' | 'error' = 'info') => {
    if (done) return;
    done = true;
    if (text) toast(text, kind);
    app.lobby();
  };
  const startRtc = () => {
    status.textContent = 'Connecting…';
    nc.startRtc().catch((e: unknown) => {
      toast(message(e), 'error');
      nc.hangup().catch(() => undefined);
    });
  };

  const offs = [
    nc.on('localStream', (s) => {
      localVideo.srcObject = s;
    }),
    nc.on('ringing', (e) => {
      if (mine(e)) status.textContent = 'Ringing…';
    }),
    nc.on('callAccepted', (e) => {
      if (mine(e)) startRtc();
    }),
    nc.on('callRejected', (e) => {
      if (!mine(e)) return;
      finish(e.reason === 'busy' ? `${peerName} is busy` : `${peerName} declined`);
    }),
    nc.on('hangup', (e) => {
      if (!mine(e)) return;
      const reason = ENDED[e.reason];
      const text =
        e.reason === 'hangup'
          ? `${peerName} hung up`
          : e.reason === 'offline'
            ? `${peerName} is offline`
            : (reason ?? 'Call ended');
      finish(text);
    }),
    nc.on('callEnded', (e) => {
      if (mine(e) || !cid) finish(connectedAt ? `Call ended · ${timer.textContent}` : null);
    }),
    nc.on('clientJoin', (e) => {
      remoteVideo.srcObject = e.stream;
      remoteAudio.srcObject = e.stream;
      el.classList.add('has-remote');
    }),
    nc.on('mediaState', (s) => {
      el.dataset.media = s;
      if (s === 'connected') {
        connectedAt ||= Date.now();
        status.textContent = 'Connected';
      } else if (s === 'reconnecting') {
        status.textContent = 'Reconnecting…';
      } else if (s === 'failed') {
        status.textContent = 'Connection failed';
      }
    }),
    nc.on('quality', (q) => {
      bars.dataset.level = q.level;
      bars.style.setProperty('--bars', String(QUALITY_BARS[q.level]));
      bars.title = `Connection: ${q.level}${q.rttMs === null ? '' : ` · ${q.rttMs} ms`}`;
    }),
  ];

  if (start.kind === 'outgoing') {
    nc.call({ type: video ? 2 : 1, callee: peer }).then(
      (r) => {
        cid = r.cid;
      },
      (e: unknown) => finish(message(e), 'error'),
    );
  } else {
    status.textContent = 'Connecting…';
    nc.response({ ...start.call, accepted: true }).then(startRtc, (e: unknown) =>
      finish(message(e), 'error'),
    );
  }

  return {
    el,
    dispose() {
      clearInterval(tick);
      for (const off of offs) off();
      if (!done) nc.hangup().catch(() => undefined);
      for (const v of [remoteVideo, localVideo, remoteAudio]) v.srcObject = null;
    },
  };
}
