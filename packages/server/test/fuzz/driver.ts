import { encodeChatMessage } from '../../src/gateway/dialects/chat-protobuf.ts';
import type { Answer } from './answers.ts';
import {
  DIALECTS,
  LEARNED,
  SELF,
  type FrameCase,
  type FuzzDialect,
  type FuzzWorld,
  type LearnedKey,
} from './world.ts';
import { openLink, type Link, type LinkEvents } from './links.ts';
import { toJson, type Value } from './values.ts';

/**
 * Sends fuzz cases over one connection per user and dialect and checks every answer: no
 * `internal` in any dialect, every request that carries an id answered by that id, no
 * connection closed but for a documented reason. What it finds is kept as violations, with the
 * frames that caused them, so that a run goes on and reports everything.
 */

/** Something the server must never do. */
export interface Violation {
  kind: 'internal' | 'unanswered' | 'closed' | 'unreadable' | 'crash' | 'memory' | 'down';
  /** What happened, and the frame(s) that led to it. */
  detail: string;
}

/** Counts of one run. */
export interface FuzzStats {
  /** Frames sent, per dialect. */
  sent: Record<string, number>;
  /** Requests sent with an id the server had to answer, and how many it answered. */
  expected: number;
  answered: number;
  /** Requests still unanswered when the server closed their connection with a documented code. */
  cutByClose: number;
  /** Error answers by `dialect code`. */
  errors: Record<string, number>;
  /** Server-side closes by `dialect code` (documented ones; others are violations). */
  closes: Record<string, number>;
}

/** Close codes docs/protocol.md documents for what a client sends: 1009 too big, 4029 flood. */
const DOCUMENTED_CLOSES = new Set<number | string>([1009, 4029]);

interface Pending {
  link: Link;
  frame: string;
  /** A ROOM signal is answered by an error to its sender, or arrives at its target. */
  anywhere: boolean;
}

/** What the driver needs of the server under test. */
export interface DriverOptions {
  wsBase: string;
  httpBase: string;
  token(userId: string): Promise<string>;
  world: FuzzWorld;
  /** `limits.maxFrameBytes`: a larger frame is answered frame_too_large without its id. */
  maxFrameBytes: number;
  /** How long a request may go unanswered. */
  answerTimeoutMs?: number;
}

const preview = (frame: string | Uint8Array): string =>
  typeof frame === 'string'
    ? frame.length > 300
      ? `${frame.slice(0, 300)}… (${frame.length} chars)`
      : frame
    : `<${frame.length} bytes ${Buffer.from(frame.subarray(0, 48)).toString('hex')}>`;

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** The fuzz driver of one run. */
export class Driver implements LinkEvents {
  readonly violations: Violation[] = [];
  readonly stats: FuzzStats = {
    sent: {},
    expected: 0,
    answered: 0,
    cutByClose: 0,
    errors: {},
    closes: {},
  };
  private readonly links = new Map<string, Link>();
  private readonly pending = new Map<string, Pending>();
  /** The last frames each link sent, to name the culprit of an answer without an id. */
  private readonly recent = new Map<Link, string[]>();
  /** Links that were told rate_limited: a flood close of theirs is documented. */
  private readonly limited = new Set<Link>();
  private nextId = 0;
  /** Ids the server handed out, newest last, a few per kind. */
  private readonly seen = new Map<LearnedKey, string[]>(LEARNED.map((k) => [k, []]));
  private picks = 0;
  private settled: (() => void) | null = null;

  constructor(private readonly o: DriverOptions) {}

  /** Opens every user's connection in every dialect. */
  async connect(): Promise<void> {
    const { users, chatUsers } = this.o.world;
    for (const user of users) {
      for (const dialect of DIALECTS) if (dialect !== 'chat') await this.link(dialect, user);
    }
    for (const user of chatUsers) await this.link('chat', user);
  }

  /** The open link of `dialect` for `user`, reconnecting it if the server closed it. */
  async link(dialect: FuzzDialect, user: string): Promise<Link> {
    const key = `${dialect}/${user}`;
    const have = this.links.get(key);
    if (have?.open) return have;
    const link = await openLink(this.o, dialect, user, await this.o.token(user), this);
    this.links.set(key, link);
    // Meeting connections start in the first meeting's media, so that the requests they are
    // fuzzed with reach the SFU rather than stop at "send rtc:join first".
    const join = JSON.stringify({ meetingId: this.o.world.meetingIds[0] });
    if (dialect === 'meeting') link.send(`{"type":"rtc:join","data":${join}}`);
    if (dialect === 'socket.io') link.send(`["rtc:join",${join}]`);
    return link;
  }

  /** Sends one case. */
  async send(c: FrameCase): Promise<void> {
    const { users, chatUsers } = this.o.world;
    const userId = (c.dialect === 'chat' ? chatUsers : users)[c.user % users.length]!;
    const link = await this.link(c.dialect, userId);
    const p = c.payload;
    let frame: string | Uint8Array;
    let id: string | undefined;
    let anywhere = false;
    switch (p.kind) {
      case 'json': {
        const value: Record<string, Value> = { ...p.value };
        if (p.id === 'assign') value.requestId = id = `f${++this.nextId}`;
        else if (p.id !== 'none') value.requestId = p.id.own;
        frame = this.fill(toJson(value), userId);
        anywhere =
          c.dialect === 'room' && typeof value.cmd === 'string' && value.cmd.startsWith('WEBRTC_');
        // Only the native, ROOM and meeting dialects have request ids.
        if (c.dialect === 'video_call') id = undefined;
        break;
      }
      case 'text':
        frame = p.text;
        break;
      case 'bytes':
        frame = p.bytes;
        break;
      case 'chat': {
        const self = (v: string | undefined) => (v === SELF ? userId : v);
        const { from, to, content } = p.message;
        // The content of a signaling message is JSON text that may name ids too.
        const m = {
          ...p.message,
          from: self(from),
          to: self(to),
          content: this.fill(content ?? '', userId),
        };
        frame = encodeChatMessage(m);
        break;
      }
      case 'event': {
        frame = this.fill(toJson([p.event, p.arg]), userId);
        if (p.ack) id = link.emitWithAck!(frame);
        else link.send(frame);
        break;
      }
    }
    bump(this.stats.sent, c.dialect);
    const shown = preview(frame);
    const recent = this.recent.get(link) ?? [];
    recent.push(shown);
    if (recent.length > 3) recent.shift();
    this.recent.set(link, recent);
    if (p.kind !== 'event') link.send(frame);
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    if (id !== undefined && (c.dialect === 'socket.io' || bytes <= this.o.maxFrameBytes)) {
      this.stats.expected++;
      this.pending.set(id, { link, frame: shown, anywhere });
    }
  }

  /**
   * Waits until every request sent so far is answered, or the answer timeout passes (each one
   * still pending is then a violation).
   */
  async settle(): Promise<void> {
    if (this.pending.size > 0) {
      const timeoutMs = this.o.answerTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.settled = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.settled = null;
    }
    for (const [id, p] of this.pending) {
      this.violate(
        'unanswered',
        `${p.link.dialect} ${p.link.userId}: no answer to ${id}: ${p.frame}`,
      );
    }
    this.pending.clear();
  }

  /** Closes every link. */
  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  answer(link: Link, a: Answer): void {
    for (const [key, value] of a.learned ?? []) {
      const ids = this.seen.get(key)!;
      if (ids.includes(value)) continue;
      ids.push(value);
      if (ids.length > 8) ids.shift();
    }
    // The request this frame answers, if it names one.
    let request: string | undefined;
    for (const id of a.ids) {
      const p = this.pending.get(id);
      if (!p || (p.link !== link && !p.anywhere)) continue;
      request = p.frame;
      this.pending.delete(id);
      this.stats.answered++;
    }
    if (a.error !== undefined) {
      bump(this.stats.errors, `${link.dialect} ${a.error}`);
      if (a.error === 'rate_limited' || a.error === '429' || a.error === '42901') {
        this.limited.add(link);
      }
    }
    if (a.internal) {
      const sent = request ?? (this.recent.get(link) ?? []).join('\n    ');
      this.violate('internal', `${link.dialect} ${link.userId} got ${a.error}; sent:\n    ${sent}`);
    }
    if (this.pending.size === 0) this.settled?.();
  }

  unreadable(link: Link, err: unknown): void {
    this.violate('unreadable', `${link.dialect} ${link.userId}: ${String(err)}`);
  }

  closed(link: Link, code: number | string, reason: string): void {
    bump(this.stats.closes, `${link.dialect} ${code}`);
    const flood = code === 'io server disconnect' && this.limited.has(link);
    if (!DOCUMENTED_CLOSES.has(code) && !flood) {
      const sent = (this.recent.get(link) ?? []).join('\n    ');
      this.violate(
        'closed',
        `${link.dialect} ${link.userId} closed ${code} ${reason}; sent:\n    ${sent}`,
      );
    }
    // Its requests will never be answered now; that is the close, not a missing answer. (A
    // ROOM signal to this user is not cut: the device left its rooms as the server began to
    // close it, so a signal relayed before that arrives ahead of the close frame, and one sent
    // after it is answered with an error.)
    for (const [id, p] of this.pending) {
      if (p.link !== link) continue;
      this.pending.delete(id);
      this.stats.cutByClose++;
    }
    if (this.pending.size === 0) this.settled?.();
  }

  /** The frame with the sender's id for `SELF` and a seen id for each `@key`. */
  private fill(json: string, userId: string): string {
    return json.replace(/"@(self|[a-zA-Z]+Id)"/g, (whole, key: string) => {
      if (`@${key}` === SELF) return JSON.stringify(userId);
      const ids = this.seen.get(key as LearnedKey);
      if (!ids || ids.length === 0) return whole;
      return JSON.stringify(ids[this.picks++ % ids.length]);
    });
  }

  /** Records a violation. */
  violate(kind: Violation['kind'], detail: string): void {
    this.violations.push({ kind, detail });
  }
}
