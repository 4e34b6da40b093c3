import type { CallRecord, OnlineUser } from '@parley/client';
import { avatar, clock, h, icon, message, toast } from './dom.ts';
import type { App, Screen } from './main.ts';

/** How often the online list is refreshed. */
const PRESENCE_MS = 3_000;

/** The header every signed-in screen shows. */
export function topBar(app: App): HTMLElement {
  const me = app.me!;
  return h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'logo' }), 'Parley'),
    h(
      'div',
      { class: 'me', 'data-testid': 'me' },
      h('span', { class: 'status-dot', title: 'Connection' }),
      avatar(me.userId, me.name),
      h('span', { class: 'me-name' }, me.name),
      h(
        'button',
        { class: 'icon-btn', title: 'Sign out', onclick: () => app.signOut() },
        icon('logout'),
      ),
    ),
  );
}

const STATUS_TEXT: Record<CallRecord['status'], string> = {
  completed: 'Completed',
  missed: 'Missed',
  rejected: 'Declined',
  busy: 'Busy',
  cancelled: 'Cancelled',
  failed: 'Failed',
};

/** Home: who is online (call them), meetings, and the call history. */
export function lobbyScreen(app: App): Screen {
  const client = app.client!;
  const me = app.me!;
  const online = h('ul', { class: 'list', 'data-testid': 'online-list' });
  const history = h('ul', { class: 'list', 'data-testid': 'history-list' });
  const meetingId = h('input', {
    placeholder: 'Meeting ID',
    'data-testid': 'meeting-id-input',
    'aria-label': 'Meeting ID',
  });

  const renderOnline = (users: OnlineUser[]) => {
    for (const u of users) app.names.set(u.userId, u.name);
    const others = users.filter((u) => u.userId !== me.userId);
    if (others.length === 0) {
      online.replaceChildren(h('li', { class: 'empty' }, 'Nobody else is online yet.'));
      return;
    }
    online.replaceChildren(
      ...others.map((u) =>
        h(
          'li',
          { class: 'row', 'data-testid': 'online-user', 'data-user': u.userId },
          avatar(u.userId, u.name),
          h(
            'div',
            { class: 'row-main' },
            h('div', { class: 'row-title' }, u.name),
            h(
              'div',
              { class: 'row-sub' },
              h('span', { class: 'online-dot' }),
              u.devices > 1 ? `Online on ${u.devices} devices` : 'Online',
            ),
          ),
          h(
            'button',
            {
              class: 'icon-btn accent',
              title: `Audio call ${u.name}`,
              'data-testid': `call-audio-${u.userId}`,
              onclick: () => app.call(u.userId, u.name, false),
            },
            icon('phone'),
          ),
          h(
            'button',
            {
              class: 'icon-btn accent',
              title: `Video call ${u.name}`,
              'data-testid': `call-video-${u.userId}`,
              onclick: () => app.call(u.userId, u.name, true),
            },
            icon('video'),
          ),
        ),
      ),
    );
  };

  const renderHistory = (records: CallRecord[]) => {
    if (records.length === 0) {
      history.replaceChildren(h('li', { class: 'empty' }, 'No calls yet.'));
      return;
    }
    history.replaceChildren(
      ...records.map((r) => {
        const outgoing = r.caller === me.userId;
        const other = outgoing ? r.callee : r.caller;
        const missed = r.status === 'missed' && !outgoing;
        const when = new Date(r.createdAt);
        return h(
          'li',
          { class: 'row', 'data-testid': 'history-item', 'data-call': r.callId },
          h(
            'span',
            { class: `dir ${missed ? 'missed' : ''}`, title: outgoing ? 'Outgoing' : 'Incoming' },
            icon(outgoing ? 'arrowOut' : 'arrowIn'),
          ),
          h(
            'div',
            { class: 'row-main' },
            h('div', { class: 'row-title' }, app.names.get(other) ?? other),
            h(
              'div',
              { class: 'row-sub' },
              `${r.media === 'video' ? 'Video' : 'Audio'} · `,
              h(
                'span',
                { 'data-testid': 'history-status', 'data-status': r.status },
                r.status === 'completed' ? clock(r.duration) : STATUS_TEXT[r.status],
              ),
            ),
          ),
          h(
            'time',
            { class: 'row-time', datetime: r.createdAt },
            when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
          ),
        );
      }),
    );
  };

  const refreshOnline = () => client.rest.presence().then(renderOnline, () => undefined);
  const refreshHistory = () =>
    client.rest.history(20).then(
      (p) => renderHistory(p.records),
      () => undefined,
    );
  // Names come with presence; the history waits for them.
  void refreshOnline().then(refreshHistory);
  const timer = setInterval(() => void refreshOnline(), PRESENCE_MS);
  const offRecord = client.netcall.on('callRecord', () => void refreshHistory());

  const openMeeting = (id?: string) => {
    app.meeting(id).catch((err: unknown) => toast(message(err), 'error'));
  };

  const el = h(
    'div',
    { class: 'page', 'data-testid': 'lobby' },
    topBar(app),
    h(
      'main',
      { class: 'grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Online now'), online),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Meetings'),
        h('p', { class: 'muted' }, 'Start a meeting and share its ID, or join one.'),
        h(
          'button',
          {
            class: 'btn primary wide',
            'data-testid': 'meeting-create',
            onclick: () => openMeeting(),
          },
          icon('users'),
          'New meeting',
        ),
        h(
          'form',
          {
            class: 'inline-form',
            onsubmit: (e: Event) => {
              e.preventDefault();
              const id = meetingId.value.trim();
              if (id) openMeeting(id);
            },
          },
          meetingId,
          h('button', { class: 'btn', type: 'submit', 'data-testid': 'meeting-join' }, 'Join'),
        ),
      ),
      h('section', { class: 'card span-2' }, h('h2', {}, 'Recent calls'), history),
    ),
  );
  return {
    el,
    dispose() {
      clearInterval(timer);
      offRecord();
    },
  };
}
