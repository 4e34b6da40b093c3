import { ParleyClient, devSignIn, type BeCallingEvent } from '@parley/client';
import { avatar, h, icon, message, toast } from './dom.ts';
import { callScreen, type CallStart } from './call-screen.ts';
import { lobbyScreen } from './lobby.ts';
import { meetingScreen } from './meeting-screen.ts';
import { signInScreen } from './signin.ts';

/**
 * The demo: sign in, see who is online, call them (audio or video), answer calls, look at the
 * call history, and hold meetings. Everything goes through @parley/client.
 */

/** A screen: its element and what to stop when it goes away. */
export interface Screen {
  el: HTMLElement;
  dispose(): void;
}

/** Who is signed in in this tab. */
export interface Me {
  userId: string;
  name: string;
  token: string;
}

const STORE = 'parley.session';

/** The running demo: one signed-in client and the screen shown. */
export class App {
  client: ParleyClient | null = null;
  me: Me | null = null;
  /** Display names seen so far (presence, callers), for the history. */
  readonly names = new Map<string, string>();
  private screen: Screen | null = null;
  private ringing: { call: BeCallingEvent; close: () => void } | null = null;
  /** Unsubscribes the app-wide listeners of the current client. */
  private unlisten: Array<() => void> = [];

  /** Shows `screen` in place of the current one. */
  show(screen: Screen): void {
    this.screen?.dispose();
    this.screen = screen;
    document.getElementById('app')!.replaceChildren(screen.el);
  }

  /** Signs in (dev sign-in, or a pasted token) and connects. */
  async signIn(userId: string, name: string, token?: string): Promise<void> {
    const t = token ?? (await devSignIn(location.origin, userId, name)).token;
    const client = new ParleyClient({ token: t });
    await client.connect();
    this.client = client;
    this.me = { userId: client.userId, name: name || client.userId, token: t };
    sessionStorage.setItem(STORE, JSON.stringify(this.me));
    this.listen(client);
    this.lobby();
  }

  /** Disconnects and forgets this tab's sign-in. */
  signOut(): void {
    for (const off of this.unlisten) off();
    this.unlisten = [];
    this.client?.disconnect();
    this.client = null;
    this.me = null;
    sessionStorage.removeItem(STORE);
    this.show(signInScreen(this));
  }

  /** The home screen. */
  lobby(): void {
    this.show(lobbyScreen(this));
  }

  /** Places a call. */
  call(callee: string, calleeName: string, video: boolean): void {
    this.show(callScreen(this, { kind: 'outgoing', callee, calleeName, video }));
  }

  /** Opens a meeting (creating it when no id is given). */
  async meeting(meetingId?: string): Promise<void> {
    const client = this.client!;
    const id = meetingId ?? (await client.createMeeting(`${this.me!.name}'s meeting`)).meetingId;
    const meeting = await client.joinMeeting(id, { nickname: this.me!.name });
    this.show(meetingScreen(this, meeting));
  }

  /** Restores this tab's sign-in, if any. */
  async restore(): Promise<void> {
    const saved = sessionStorage.getItem(STORE);
    if (saved) {
      const me = JSON.parse(saved) as Me;
      try {
        await this.signIn(me.userId, me.name, me.token);
        return;
      } catch {
        sessionStorage.removeItem(STORE);
      }
    }
    this.show(signInScreen(this));
  }

  /** App-wide reactions: incoming calls ring over any screen; connection notices. */
  private listen(client: ParleyClient): void {
    const nc = client.netcall;
    this.unlisten.push(
      nc.on('beCalling', (call) => {
        this.names.set(call.caller, call.callerName);
        this.ring(call);
      }),
      nc.on('callerAckSync', (e) => {
        if (this.ringing?.call.cid !== e.cid) return;
        this.ringing.close();
        this.ringing = null;
        toast(e.accepted ? 'Answered on another device' : 'Declined on another device');
      }),
      nc.on('hangup', (e) => {
        if (this.ringing?.call.cid !== e.cid) return;
        this.ringing.close();
        this.ringing = null;
        toast(`Missed call from ${e.account}`);
      }),
      client.on('reconnecting', () => document.body.classList.add('offline')),
      client.on('resumed', () => document.body.classList.remove('offline')),
      client.on('sessionLost', () => {
        document.body.classList.remove('offline');
        toast('Reconnected as a new session', 'error');
      }),
      client.on('disconnected', () => toast('Disconnected from the server', 'error')),
    );
  }

  /** The incoming-call sheet over whatever is shown. */
  private ring(call: BeCallingEvent): void {
    if (this.ringing) return;
    const overlay = document.getElementById('overlay')!;
    const video = call.type === 2;
    const answer = (accepted: boolean) => {
      close();
      this.ringing = null;
      const nc = this.client!.netcall;
      if (!accepted) {
        nc.response({ ...call, accepted }).catch((e: unknown) => toast(message(e), 'error'));
        return;
      }
      const start: CallStart = { kind: 'incoming', call };
      this.show(callScreen(this, start));
    };
    const sheet = h(
      'div',
      { class: 'sheet', 'data-testid': 'incoming-call', role: 'dialog', 'aria-modal': 'true' },
      h('div', { class: 'sheet-pulse' }, avatar(call.caller, call.callerName, 'lg')),
      h('div', { class: 'sheet-title' }, call.callerName),
      h('div', { class: 'sheet-sub' }, video ? 'Incoming video call' : 'Incoming audio call'),
      h(
        'div',
        { class: 'sheet-actions' },
        h(
          'button',
          {
            class: 'round danger',
            'data-testid': 'incoming-reject',
            title: 'Decline',
            onclick: () => answer(false),
          },
          icon('hangup'),
        ),
        h(
          'button',
          {
            class: 'round success',
            'data-testid': 'incoming-accept',
            title: 'Accept',
            onclick: () => answer(true),
          },
          icon(video ? 'video' : 'phone'),
        ),
      ),
    );
    const close = () => overlay.replaceChildren();
    overlay.replaceChildren(h('div', { class: 'scrim' }, sheet));
    this.ringing = { call, close };
  }
}

void new App().restore();
