import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_CHROMIUM, launchChromium } from '@parley/bench/browser';
import { startServer, type ServerOptions, type TestServer } from '../../server/test/harness.ts';
import { startMeetingServer } from '../../server/test/meeting-kit.ts';
import { buildDemo } from '../build.ts';

/**
 * The demo end to end: a Parley node serving a fresh build of the demo with dev sign-in on,
 * headless Chromium with fake camera and microphone, and helpers that drive the UI the way a
 * user does. Waits are event-driven with generous limits (the machine has two shared cores).
 */

/**
 * A generous wait for anything that involves media: a bound, not a budget. The server's
 * browser tests allow 90 s too; with two Chromium suites on one loaded core, a third joiner's
 * meeting screen took over 45 s to come up.
 */
export const WAIT = { timeout: 90_000, polling: 200 } as const;

/** The server, the browser and the built demo of one test file. */
export interface Demo {
  srv: TestServer;
  /** `http://127.0.0.1:<port>/` */
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

type Tree = Record<string, unknown>;

const SDK_PAGE = fileURLToPath(new URL('./sdk-page.ts', import.meta.url));

/**
 * Builds the demo (and beside it `sdk.html`, the page of test/sdk-page.ts), starts a node that
 * serves it (with the SFU if `meetings`; `options.log` captures its log), and Chromium.
 */
export async function startDemo(
  overrides: Tree = {},
  meetings = false,
  options: ServerOptions = {},
): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-demo-'));
  await buildDemo(dir, { sdk: SDK_PAGE });
  writeFileSync(
    join(dir, 'sdk.html'),
    '<!doctype html><meta charset="utf-8"><title>sdk</title><link rel="icon" href="data:,"><script type="module" src="/sdk.js"></script>',
  );
  const config = { ...overrides, auth: { devLogin: true }, web: { dir } };
  const srv = meetings
    ? await startMeetingServer(config, {}, options)
    : await startServer(config, options);
  let browser: Browser;
  try {
    browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
  } catch (err) {
    await srv.close();
    throw err;
  }
  return {
    srv,
    url: `${srv.httpBase}/`,
    browser,
    async close() {
      await browser.close();
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a page of the test may look at besides the DOM: the WebSockets it opened. */
declare const window: { __sockets: WebSocket[] };

/** A tab on `sdk.html` (in a context of its own), once its `window.sdk` is there. */
export async function sdkPage(demo: Demo): Promise<Page> {
  const context = await demo.browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`[sdk] page error: ${err.message}\n`));
  page.on('console', (m) => {
    if (m.type() === 'error') process.stderr.write(`[sdk] console error: ${m.text()}\n`);
  });
  await page.goto(`${demo.url}sdk.html`);
  await page.waitForFunction(() => 'sdk' in globalThis, undefined, WAIT);
  return page;
}

/**
 * A browser context for one user (its own storage), whose pages record every WebSocket they open
 * in `window.__sockets`, so that a test can cut one as a network drop would.
 */
export async function userContext(demo: Demo): Promise<BrowserContext> {
  const context = await demo.browser.newContext({ viewport: { width: 1100, height: 720 } });
  await context.addInitScript(() => {
    const w = window as unknown as { __sockets: WebSocket[]; WebSocket: typeof WebSocket };
    const Native = w.WebSocket;
    w.__sockets = [];
    w.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        w.__sockets.push(this);
      }
    };
  });
  await context.addInitScript({ content: TOASTS });
  if (process.env.DEMO_TRACE) await context.addInitScript({ content: TRACE });
  return context;
}

/*
 * Chrome opens the camera only for the tab in front (getUserMedia waits otherwise), as for a
 * real user: tests bring a page to the front before what opens media in it (calling,
 * answering, joining a meeting).
 */

/** Opens the demo in a new tab of `context` and signs in as `userId`. */
export async function signIn(
  demo: Demo,
  context: BrowserContext,
  userId: string,
  name = userId[0]!.toUpperCase() + userId.slice(1),
): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`[${userId}] page error: ${err.message}\n`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning' || process.env.DEMO_TRACE) {
      process.stderr.write(
        `${new Date().toISOString()} [${userId}] console ${m.type()}: ${m.text()}\n`,
      );
    }
  });
  await page.goto(demo.url);
  await page.getByTestId('signin-user').fill(userId);
  await page.getByTestId('signin-name').fill(name);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('lobby').waitFor(WAIT);
  return page;
}

/** Waits until `userId` shows in the page's online list (presence refreshes every 3 s). */
export async function seeOnline(page: Page, userId: string): Promise<void> {
  await page.locator(`[data-testid=online-user][data-user="${userId}"]`).waitFor(WAIT);
}

/**
 * alice and bob signed in, each in a browser context of their own, with alice seeing bob
 * online; both contexts are closed after `body`, whatever it does.
 */
export async function aliceAndBob(
  demo: Demo,
  body: (alice: Page, bob: Page) => Promise<void>,
): Promise<void> {
  const alice = await userContext(demo);
  const bob = await userContext(demo);
  try {
    const a = await signIn(demo, alice, 'alice');
    const b = await signIn(demo, bob, 'bob');
    await seeOnline(a, 'bob');
    await body(a, b);
  } finally {
    await alice.close();
    await bob.close();
  }
}

/** Frames decoded so far by the video matching `selector`, and its width. */
export function videoFrames(
  page: Page,
  selector: string,
): Promise<{ frames: number; width: number }> {
  return page.evaluate((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    if (!v) return { frames: 0, width: 0 };
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth };
  }, selector);
}

/** Waits until the video matching `selector` shows real frames, and more of them over time. */
export async function expectDecoding(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (sel) => {
      const v = document.querySelector<HTMLVideoElement>(sel);
      return !!v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 3;
    },
    selector,
    WAIT,
  );
  const before = await videoFrames(page, selector);
  await page.waitForFunction(
    ({ sel, n }) => {
      const v = document.querySelector<HTMLVideoElement>(sel);
      return !!v && v.getVideoPlaybackQuality().totalVideoFrames > n + 5;
    },
    { sel: selector, n: before.frames },
    WAIT,
  );
}

/** Waits until the first history entry of `page` has `status` (and returns its call id). */
export async function expectHistory(page: Page, status: string): Promise<string> {
  const first = page.getByTestId('history-item').first();
  await first
    .getByTestId('history-status')
    .and(page.locator(`[data-status="${status}"]`))
    .waitFor(WAIT);
  return (await first.getAttribute('data-call'))!;
}

/**
 * Places a call from the lobby of `page` (in front, as a user's tab is) and waits for the local
 * camera preview, so that the camera is open before another tab comes to the front.
 */
export async function placeCall(
  page: Page,
  callee: string,
  kind: 'audio' | 'video',
): Promise<void> {
  await page.bringToFront();
  await page.getByTestId(`call-${kind}-${callee}`).click();
  await page.getByTestId('call-screen').waitFor(WAIT);
  if (kind === 'video') {
    await page.waitForFunction(
      () =>
        (document.querySelector<HTMLVideoElement>('[data-testid=local-video]')?.videoWidth ?? 0) >
        0,
      undefined,
      WAIT,
    );
  }
}

/** Answers the ringing call in `page` (brought to front first). */
export async function answer(page: Page): Promise<void> {
  await page.bringToFront();
  await page.getByTestId('incoming-accept').click();
  await page.getByTestId('call-screen').waitFor(WAIT);
}

/*
 * What a page shows the user of an error is a toast, gone after 4 s: a test that waits for a
 * screen that never comes would otherwise say nothing of why (a failed join). Error toasts go to
 * the console as errors, so to the test's output; with DEMO_TRACE=1, so do the other toasts and
 * every signaling frame and REST call of the page, with the time the test saw it (where a slow
 * step's time goes).
 */
const TOASTS = `new MutationObserver((changes) => {
  for (const c of changes) for (const n of c.addedNodes) {
    if (n instanceof HTMLElement && n.dataset.testid === 'toast') {
      const error = n.classList.contains('toast-error');
      console[error ? 'error' : 'info']('toast: ' + n.textContent);
    }
  }
}).observe(document, { childList: true, subtree: true });`;

const TRACE = `(() => {
  const cut = (t) => String(t).slice(0, 200);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      console.debug('ws open');
      this.addEventListener('message', (e) => console.debug('ws< ' + cut(e.data)));
      this.addEventListener('close', (e) => console.debug('ws close ' + e.code + ' ' + e.reason));
    }
    send(data) {
      console.debug('ws> ' + cut(data));
      super.send(data);
    }
  };
  const nativeFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    console.debug('fetch> ' + ((init && init.method) || 'GET') + ' ' + String(input));
    const r = await nativeFetch(input, init);
    console.debug('fetch< ' + r.status + ' ' + String(input));
    return r;
  };
})();`;

/** With DEMO_TRACE=1: a step of a test, with the time, beside its pages' traces. */
export function step(what: string): void {
  if (process.env.DEMO_TRACE) process.stderr.write(`${new Date().toISOString()} ${what}\n`);
}
