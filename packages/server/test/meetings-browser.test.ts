import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  servePage,
  DEFAULT_CHROMIUM,
  type MeetingPageWindow,
  type PageServer,
} from '@parley/bench/browser';
import type { TestServer } from './harness.ts';
import { createMeeting, joinMeeting, rest, startMeetingServer } from './meeting-kit.ts';

/**
 * End to end in headless Chromium with fake devices: three participants run the spec's
 * mediasoup-client flow (packages/bench/page/client.ts), publish audio and simulcast video, and
 * decode one another; one leaves; the host ends the meeting. Once over the raw WebSocket
 * endpoint, once over socket.io. Waits are event-driven with generous limits (two shared cores).
 */

const WAIT = { timeout: 60_000, polling: 250 };

type Video = Array<{ peerId: string; framesDecoded: number; width: number }>;

/** The page's window, as the callbacks below see it when they run in the browser. */
declare const window: MeetingPageWindow;

/**
 * Runs `probe` (a page.evaluate) every 250 ms until it returns something truthy. Playwright's
 * waitForFunction does not await an async predicate: a pending promise counts as truthy, so it
 * cannot wait on getStats().
 */
async function until<R>(
  what: string,
  probe: () => Promise<R>,
): Promise<Exclude<R, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const r = await probe();
    if (r) return r as Exclude<R, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, WAIT.polling));
  }
}

describe('meetings in Chromium', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: PageServer;

  before(async () => {
    srv = await startMeetingServer();
    browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
    page = await servePage();
  });
  after(async () => {
    await browser?.close();
    await page?.close();
    await srv?.close();
  });

  for (const transport of ['ws', 'socket.io'] as const) {
    test(
      `three participants over ${transport}: publish, decode, leave, end`,
      { timeout: 240_000 },
      async () => {
        const meetingId = await createMeeting(srv, 'host');
        const users = ['host', 'ana', 'bo'] as const;
        await joinMeeting(srv, meetingId, ...users);
        const pages: Record<string, Page> = {};
        const peerIds: Record<string, string> = {};
        try {
          for (const user of users) {
            const p = await browser.newPage();
            p.on('pageerror', (err) => process.stderr.write(`[${user}] ${err.message}\n`));
            await p.goto(page.url);
            await p.waitForFunction(() => typeof window.startMeeting === 'function');
            const options = {
              server: transport === 'ws' ? srv.wsBase : srv.httpBase,
              transport,
              token: await srv.token(user, { name: user }),
              meetingId,
            };
            const joined = await p.evaluate((o) => window.startMeeting(o).join(), options);
            peerIds[user] = joined.peerId;
            pages[user] = p;
          }
          for (const user of users) await pages[user]!.evaluate(() => window.meeting.publish());

          // Everyone decodes the two others' video: frames rising, a real width.
          for (const user of users) {
            const p = pages[user]!;
            const first = await until(`${user} decoding two videos`, () =>
              p.evaluate(async () => {
                const v = await window.meeting.video();
                return v.length === 2 && v.every((x) => x.framesDecoded > 0 && x.width > 0) && v;
              }),
            );
            await until(`${user}'s frames rising`, () =>
              p.evaluate(async (before: Video) => {
                const v = await window.meeting.video();
                return (
                  v.length === 2 &&
                  v.every(
                    (x) =>
                      x.framesDecoded >
                      (before.find((b) => b.peerId === x.peerId)?.framesDecoded ?? Infinity) + 5,
                  )
                );
              }, first),
            );
            const others = users
              .filter((u) => u !== user)
              .map((u) => peerIds[u])
              .sort();
            assert.deepEqual(first.map((v) => v.peerId).sort(), others, `${user} sees the others`);
          }

          // Simulcast: the SFU receives three encodings of each camera.
          for (const user of users) {
            await until(`three simulcast streams from ${user}`, () =>
              pages[user]!.evaluate(async () => {
                const s = await window.meeting.videoProducerStats();
                return s.length === 3 && new Set(s.map((x) => x.rid)).size === 3;
              }),
            );
          }

          // The fake microphones beep: the SFU names a dominant speaker.
          const speaker = await pages.ana!.waitForFunction(
            () => window.meeting.events.find((e) => e.type === 'rtc:activeSpeaker')?.data.peerId,
            undefined,
            WAIT,
          );
          assert.ok(Object.values(peerIds).includes((await speaker.jsonValue()) as string));

          // Data channels through the SFU.
          await pages.host!.evaluate(() => window.meeting.say('hello everyone'));
          for (const user of ['ana', 'bo']) {
            await pages[user]!.waitForFunction(
              () => window.meeting.messages.includes('hello everyone'),
              undefined,
              WAIT,
            );
          }

          // Bo leaves: the others hear rtc:producerClosed for his producers, then rtc:peerLeft,
          // and keep decoding each other.
          await pages.bo!.evaluate(() => window.meeting.leave());
          for (const user of ['host', 'ana']) {
            const p = pages[user]!;
            await p.waitForFunction(
              (bo: string) =>
                window.meeting.events.some(
                  (e) => e.type === 'rtc:peerLeft' && e.data.peerId === bo,
                ) &&
                window.meeting.events.filter(
                  (e) => e.type === 'rtc:producerClosed' && e.data.peerId === bo,
                ).length === 2,
              peerIds.bo!,
              WAIT,
            );
            const v = await p.evaluate(() => window.meeting.video());
            assert.equal(v.length, 1, `${user} still decodes one video`);
          }

          // The host ends the meeting: everyone left hears rtc:meetingEnded and media stops.
          const end = await rest(srv, 'host', 'POST', `/api/meetings/${meetingId}/end`);
          assert.equal(end.status, 200);
          for (const user of ['host', 'ana']) {
            const p = pages[user]!;
            const ended = await p.waitForFunction(
              () => window.meeting.events.find((e) => e.type === 'rtc:meetingEnded')?.data,
              undefined,
              WAIT,
            );
            assert.deepEqual(await ended.jsonValue(), {
              meetingId,
              endedBy: 'host',
              endedAt: end.body.data.endedAt,
            });
          }
          assert.equal(srv.app.rtc.has(meetingId), false, 'the media room is closed');
          await new Promise((r) => setTimeout(r, 1000));
          const frozen = await pages.ana!.evaluate(() => window.meeting.video());
          await new Promise((r) => setTimeout(r, 1500));
          assert.deepEqual(
            await pages.ana!.evaluate(() => window.meeting.video()),
            frozen,
            'no more frames',
          );
        } finally {
          for (const p of Object.values(pages)) await p.close();
        }
      },
    );
  }
});
