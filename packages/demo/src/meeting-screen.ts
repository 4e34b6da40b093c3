import type { Meeting, MeetingPeer, RemoteTrack } from '@parley/client';
import { avatar, h, icon, message, toast } from './dom.ts';
import type { App, Screen } from './main.ts';

/** One participant's tile: video (or avatar), name, speaking highlight. */
interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  audio: HTMLAudioElement;
  stream: MediaStream;
}

/**
 * A meeting: a grid of everyone's video with the active speaker highlighted, and mute, camera,
 * screen share and leave (end, for the host).
 */
export function meetingScreen(app: App, meeting: Meeting): Screen {
  const me = app.me!;
  const grid = h('div', { class: 'tiles', 'data-testid': 'meeting-grid' });
  const tiles = new Map<string, Tile>();
  const count = h('span', { class: 'pill', 'data-testid': 'meeting-count' }, '1');
  let done = false;

  const tile = (key: string, userId: string, name: string, local = false): Tile => {
    const existing = tiles.get(key);
    if (existing) return existing;
    const stream = new MediaStream();
    const video = h('video', { autoplay: true, playsinline: true, muted: true });
    video.muted = true;
    video.srcObject = stream;
    const audio = h('audio', { autoplay: true });
    const el = h(
      'div',
      {
        class: `tile ${local ? 'is-local' : ''}`,
        'data-testid': 'meeting-tile',
        'data-peer': key,
        'data-user': userId,
      },
      h('div', { class: 'tile-avatar' }, avatar(userId, name, 'lg')),
      video,
      audio,
      h('div', { class: 'tile-name' }, local ? `${name} (you)` : name),
    );
    grid.append(el);
    const t = { el, video, audio, stream };
    tiles.set(key, t);
    layout();
    return t;
  };
  const layout = () => {
    grid.style.setProperty('--n', String(tiles.size));
    count.textContent = String(tiles.size);
  };
  const refreshVideo = (t: Tile) => {
    t.el.classList.toggle(
      'has-video',
      t.stream.getVideoTracks().some((v) => v.readyState === 'live' && v.enabled),
    );
  };

  /** Highlights the active speaker's tile (known from the join on, and as it changes). */
  const markSpeaker = () => {
    const speaker = meeting.activeSpeaker;
    for (const [key, t] of tiles) {
      const speaking = key === speaker || (key === 'local' && speaker === meeting.peerId);
      t.el.classList.toggle('speaking', speaking);
      t.el.dataset.speaking = String(speaking);
    }
  };

  const local = tile('local', me.userId, me.name, true);
  const addPeer = (p: MeetingPeer) => {
    tile(p.peerId, p.userId, p.nickname);
    markSpeaker();
  };
  const addTrack = (r: RemoteTrack) => {
    const t = tiles.get(r.peerId);
    if (!t) return;
    // One video per tile: a screen share replaces the camera while it lasts.
    if (r.kind === 'video') for (const v of t.stream.getVideoTracks()) t.stream.removeTrack(v);
    t.stream.addTrack(r.track);
    if (r.kind === 'audio') t.audio.srcObject = new MediaStream([r.track]);
    t.el.classList.toggle('paused', r.paused && r.kind === 'video');
    refreshVideo(t);
  };
  const removeTrack = (r: RemoteTrack) => {
    const t = tiles.get(r.peerId);
    if (!t) return;
    t.stream.removeTrack(r.track);
    const camera = [...(meeting.peers.get(r.peerId)?.tracks.values() ?? [])].find(
      (x) => x.kind === 'video' && x.producerId !== r.producerId,
    );
    if (r.kind === 'video' && camera) t.stream.addTrack(camera.track);
    refreshVideo(t);
  };

  for (const p of meeting.peers.values()) {
    addPeer(p);
    for (const r of p.tracks.values()) addTrack(r);
  }
  markSpeaker();

  const leave = (end: boolean) => {
    if (done) return;
    done = true;
    (end ? meeting.end() : meeting.leave()).catch((e: unknown) => toast(message(e), 'error'));
    app.lobby();
  };

  const micBtn = h(
    'button',
    { class: 'round ghost', 'data-testid': 'btn-mute', title: 'Mute' },
    icon('mic'),
  );
  const camBtn = h(
    'button',
    { class: 'round ghost', 'data-testid': 'btn-camera', title: 'Camera' },
    icon('video'),
  );
  const screenBtn = h(
    'button',
    { class: 'round ghost', 'data-testid': 'btn-screen', title: 'Share screen' },
    icon('screen'),
  );
  let micMuted = false;
  let camOff = false;
  micBtn.onclick = () => {
    micMuted = !micMuted;
    micBtn.replaceChildren(icon(micMuted ? 'micOff' : 'mic'));
    micBtn.setAttribute('aria-pressed', String(micMuted));
    meeting.setMicMuted(micMuted).catch((e: unknown) => toast(message(e), 'error'));
  };
  camBtn.onclick = () => {
    camOff = !camOff;
    camBtn.replaceChildren(icon(camOff ? 'videoOff' : 'video'));
    camBtn.setAttribute('aria-pressed', String(camOff));
    for (const v of local.stream.getVideoTracks()) v.enabled = !camOff;
    refreshVideo(local);
    meeting.setCameraOff(camOff).catch((e: unknown) => toast(message(e), 'error'));
  };
  screenBtn.onclick = () => {
    const sharing = screenBtn.getAttribute('aria-pressed') === 'true';
    const done = sharing ? meeting.stopScreenShare() : meeting.shareScreen();
    done
      .then(() => screenBtn.setAttribute('aria-pressed', String(!sharing)))
      .catch((e: unknown) => toast(message(e), 'error'));
  };
  const copyBtn = h(
    'button',
    {
      class: 'icon-btn',
      title: 'Copy meeting ID',
      onclick: () => {
        navigator.clipboard?.writeText(meeting.meetingId).then(
          () => toast('Meeting ID copied'),
          () => undefined,
        );
      },
    },
    icon('copy'),
  );

  const endBtn = h(
    'button',
    {
      class: 'btn ghost-light',
      'data-testid': 'meeting-end',
      hidden: true,
      onclick: () => leave(true),
    },
    'End for all',
  );
  const title = h('span', { class: 'meeting-name' }, 'Meeting');
  app.client!.rest.meeting(meeting.meetingId).then(
    (m) => {
      endBtn.hidden = m.hostId !== me.userId;
      title.textContent = m.title ?? 'Meeting';
    },
    () => undefined,
  );

  const offs = [
    meeting.on('peerJoined', addPeer),
    meeting.on('peerLeft', (p) => {
      tiles.get(p.peerId)?.el.remove();
      tiles.delete(p.peerId);
      layout();
    }),
    meeting.on('trackAdded', addTrack),
    meeting.on('trackRemoved', removeTrack),
    meeting.on('trackPaused', (r) => {
      const t = tiles.get(r.peerId);
      if (t && r.kind === 'video') t.el.classList.toggle('paused', r.paused);
    }),
    meeting.on('activeSpeaker', markSpeaker),
    meeting.on('closed', ({ reason }) => {
      if (done) return;
      done = true;
      toast(reason === 'ended' ? 'The host ended the meeting' : 'You left the meeting');
      app.lobby();
    }),
  ];

  meeting
    .publish({ video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } } })
    .then((stream) => {
      for (const track of stream.getTracks()) local.stream.addTrack(track);
      refreshVideo(local);
    })
    .catch((e: unknown) => toast(message(e), 'error'));

  const el = h(
    'div',
    { class: 'meeting', 'data-testid': 'meeting-screen', 'data-meeting': meeting.meetingId },
    h(
      'header',
      { class: 'meeting-top' },
      h(
        'div',
        { class: 'meeting-title' },
        h('span', { class: 'logo' }),
        title,
        h('span', { class: 'meeting-id', 'data-testid': 'meeting-id' }, meeting.meetingId),
        copyBtn,
      ),
      h('div', { class: 'meeting-people' }, icon('users'), count),
    ),
    grid,
    h(
      'div',
      { class: 'call-controls' },
      micBtn,
      camBtn,
      screenBtn,
      h(
        'button',
        {
          class: 'btn danger',
          'data-testid': 'meeting-leave',
          onclick: () => leave(false),
        },
        'Leave',
      ),
      endBtn,
    ),
  );

  return {
    el,
    dispose() {
      for (const off of offs) off();
      if (!done) {
        done = true;
        meeting.leave().catch(() => undefined);
      }
    },
  };
}
