import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import type { JoinMark } from '../page/join-marks.ts';

/**
 * Headless Chromium with fake camera and microphone, and a page server for the meeting client
 * (page/client.ts, bundled with esbuild). Used by the browser tests and
 * `parley bench-sfu`.
 */

/** Where Debian's chromium package puts the browser. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  // Pages in the background must not be throttled: every page of a test is a participant.
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  // Chrome sends one simulcast layer below 640x360 unless this limit is off; the tests publish
  // all three encodings at 320x240 to keep two cores free.
  '--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/',
];

/** Launches Chromium; fails with how to get it when it is missing. */
export async function launchChromium(executablePath = DEFAULT_CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is needed at ${executablePath}: install it with \`bash scripts/install-system-deps.sh\` ` +
        '(Debian package chromium) or point CHROMIUM_PATH at another Chromium',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: ARGS });
}

/** How a page joins a meeting. */
export interface MeetingPageOptions {
  /** `ws://host:port` (raw WebSocket) or `http://host:port` (socket.io). */
  server: string;
  transport: 'ws' | 'socket.io';
  token: string;
  meetingId: string;
  /**
   * Where Chrome's send-side bandwidth estimate starts (x-google-start-bitrate), in kbps; its
   * default, 300, grows into the upper simulcast layers only as packets come back in time, and
   * a loaded CPU delays them the way a congested link would (the estimate sank to 116 kbps at
   * load 40, on loopback).
   */
  sendStartKbps?: number;
}

/** One remote video a meeting page receives. */
export interface RemoteVideo {
  peerId: string;
  framesDecoded: number;
  packetsReceived: number;
  /** The rendered width (0 before the first frame). */
  width: number;
  /** The SFU closed the transport it comes on (its DTLS close alert came). */
  sfuClosed: boolean;
}

/** The meeting client in a page (page/client.ts), as `window.meeting`. */
export interface MeetingPage {
  /** Every broadcast event received, in order. */
  events: Array<{ type: string; data: Record<string, unknown> }>;
  /** Data channel messages received. */
  messages: string[];
  /** The dominant speaker's peer id: from rtc:join's answer, then each rtc:activeSpeaker. */
  activeSpeaker: string | null;
  /** This page's peer id in the meeting (a new one after each rejoin). */
  peerId: string;
  /** How many times the page joined again, by itself, after rtc:mediaReset. */
  rejoins: number;
  /** When the first join reached each of its steps (performance.now(); see join-marks.ts). */
  marks: Partial<Record<JoinMark, number>>;
  join(): Promise<{ peerId: string; peers: number }>;
  publish(size?: {
    width: number;
    height: number;
    frameRate: number;
  }): Promise<{ audio: string; video: string }>;
  video(): Promise<RemoteVideo[]>;
  videoProducerStats(): Promise<Array<{ rid: string; bitrate: number }>>;
  say(text: string): void;
  leave(): Promise<void>;
}

/** The page's `window`, for code that `page.evaluate()` runs in the browser. */
export interface MeetingPageWindow {
  startMeeting(o: MeetingPageOptions): MeetingPage;
  meeting: MeetingPage;
}

/** The meeting client page, served on 127.0.0.1. */
export interface PageServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  close(): Promise<void>;
}

const CLIENT = fileURLToPath(new URL('../page/client.ts', import.meta.url));

/** Bundles the meeting client and serves it with an empty page. */
export async function servePage(): Promise<PageServer> {
  const bundle = await build({
    entryPoints: [CLIENT],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome110',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.contents;
  const html =
    '<!doctype html><meta charset="utf-8"><title>meeting</title><script type="module" src="/client.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
