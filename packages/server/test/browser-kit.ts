import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  servePage,
  DEFAULT_CHROMIUM,
  type MeetingPageOptions,
  type MeetingPageWindow,
  type PageServer,
  type RemoteVideo,
} from '@parley/bench/browser';
import { until, type Truthy } from './harness.ts';

/**
 * Helpers for the meeting tests in headless Chromium (fake devices), where each page runs the
 * spec's mediasoup-client flow (packages/bench/page/client.ts) as one participant.
 */

/**
 * How long a page may take to get somewhere, and how often to look: a bound for two shared,
 * loaded cores (a meeting over three nodes, Chromium beside them, took over 60 s), not a budget.
 */
export const WAIT = { timeout: 90_000, polling: 250 };

/** What a page decodes: one entry per remote video. */
export type Video = RemoteVideo[];

/** The page's window, as the callbacks below see it when they run in the browser. */
declare const window: MeetingPageWindow;

/**
 * `until` at a page's pace: each probe is a page.evaluate (often getStats), and Playwright's
 * waitForFunction does not await an async predicate (a pending promise counts as truthy).
 */
export function untilPage<R>(what: string, probe: () => Promise<R>): Promise<Truthy<R>> {
  return until(what, probe, WAIT.timeout, WAIT.polling);
}

/** Waits until the page heard `peerId` leave and both its producers (audio, video) close. */
export async function heardPeerGone(p: Page, peerId: string): Promise<void> {
  await p.waitForFunction(
    (gone: string) =>
      window.meeting.events.some((e) => e.type === 'rtc:peerLeft' && e.data.peerId === gone) &&
      window.meeting.events.filter((e) => e.type === 'rtc:producerClosed' && e.data.peerId === gone)
        .length === 2,
    peerId,
    WAIT,
  );
}

/**
 * Waits until the page of `who` decodes `n` remote videos, each with a real width and its
 * frames rising; returns the first sample. With `among`, only the videos of those peers count
 * (others may come and go meanwhile).
 */
export async function decoding(
  p: Page,
  n: number,
  who: string,
  among: readonly string[] | null = null,
): Promise<Video> {
  const first = await untilPage(`${who} decoding ${n} videos`, () =>
    p.evaluate(
      async ([n, among]: [number, readonly string[] | null]) => {
        const v = (await window.meeting.video()).filter((x) => !among || among.includes(x.peerId));
        return v.length === n && v.every((x) => x.framesDecoded > 0 && x.width > 0) && v;
      },
      [n, among] as [number, readonly string[] | null],
    ),
  );
  await untilPage(`${who}'s frames rising`, () =>
    p.evaluate(
      async ([before, n, among]: [Video, number, readonly string[] | null]) => {
        const v = (await window.meeting.video()).filter((x) => !among || among.includes(x.peerId));
        return (
          v.length === n &&
          v.every(
            (x) =>
              x.framesDecoded >
              (before.find((b) => b.peerId === x.peerId)?.framesDecoded ?? Infinity) + 5,
          )
        );
      },
      [first, n, among] as [Video, number, readonly string[] | null],
    ),
  );
  return first;
}

/** `decoding`, as the sorted peer ids of the videos. */
export async function decodedPeers(
  p: Page,
  n: number,
  who: string,
  among: readonly string[] | null = null,
): Promise<string[]> {
  return (await decoding(p, n, who, among)).map((v) => v.peerId).sort();
}

/** Chromium and the meeting client's page server, for a test's before/after. */
export class MeetingBrowser {
  private constructor(
    readonly browser: Browser,
    private readonly server: PageServer,
  ) {}

  /** Launches Chromium (CHROMIUM_PATH, or Debian's) and serves the meeting client. */
  static async open(): Promise<MeetingBrowser> {
    const browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
    try {
      return new MeetingBrowser(browser, await servePage());
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** A new page of `user` that has joined with `options`; its page errors go to stderr. */
  async join(user: string, options: MeetingPageOptions): Promise<{ page: Page; peerId: string }> {
    const page = await this.browser.newPage();
    try {
      page.on('pageerror', (err) => process.stderr.write(`[${user}] ${err.message}\n`));
      await page.goto(this.server.url, { timeout: WAIT.timeout });
      await page.waitForFunction(() => typeof window.startMeeting === 'function', undefined, WAIT);
      const joined = await page.evaluate((o) => window.startMeeting(o).join(), options);
      return { page, peerId: joined.peerId };
    } catch (err) {
      await page.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.server.close();
  }
}
