import { after, before, test } from 'node:test';
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
import { createMeeting, joinMeeting, startMeetingServer } from './meeting-kit.ts';

/**
 * End to end in headless Chromium with fake devices: a meeting whose peers sit on routers on the
 * two workers of one node (a consumer budget of 2 per worker spreads it at the third peer), every
 * peer decoding every other's video through the pipes, data channels through them too; then
 * the worker of one peer dies, the others keep decoding each other, and that peer rejoins.
 */

const WAIT = { timeout: 60_000, polling: 250 };

type Video = Array<{ peerId: string; framesDecoded: number; width: number }>;

/** The page's window, as the callbacks below see it when they run in the browser. */
declare const window: MeetingPageWindow;

/** Runs `probe` every 250 ms until it returns something truthy (see meetings-browser.test.ts). */
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

let srv: TestServer;
let browser: Browser;
let page: PageServer;

before(async () => {
  srv = await startMeetingServer({}, { workers: 2, consumersPerWorker: 2 });
  browser = await launchChromium(process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM);
  page = await servePage();
});
after(async () => {
  await browser?.close();
  await page?.close();
  await srv?.close();
});

test(
  'a meeting over two workers: every peer decodes every other, a worker dies',
  { timeout: 600_000 },
  async () => {
    const meetingId = await createMeeting(srv, 'host');
    const users = ['host', 'ana', 'bo'] as const;
    await joinMeeting(srv, meetingId, ...users);
    const options = async (user: string) => ({
      server: srv.wsBase,
      transport: 'ws' as const,
      token: await srv.token(user, { name: user }),
      meetingId,
    });
    const pages: Record<string, Page> = {};
    const peerIds: Record<string, string> = {};
    // Every one of `among` decodes the others' video: frames rising, a real width.
    const decodesOthers = async (among: readonly string[]) => {
      for (const user of among) {
        const others = among
          .filter((u) => u !== user)
          .map((u) => peerIds[u]!)
          .sort();
        const v = await decoding(pages[user]!, user, others.length);
        assert.deepEqual(v.map((x) => x.peerId).sort(), others, `${user} sees the others`);
      }
    };
    try {
      // One at a time: each joins, then publishes audio and simulcast video.
      for (const user of users) {
        const p = await browser.newPage();
        p.on('pageerror', (err) => process.stderr.write(`[${user}] ${err.message}\n`));
        await p.goto(page.url, { timeout: WAIT.timeout });
        await p.waitForFunction(() => typeof window.startMeeting === 'function');
        const joined = await p.evaluate((o) => window.startMeeting(o).join(), await options(user));
        peerIds[user] = joined.peerId;
        pages[user] = p;
        await p.evaluate(() => window.meeting.publish());
      }

      // Ana fits on the host's worker (2 producers within a budget of 2); Bo does not.
      const layout = srv.app.rtc.layout(meetingId)!;
      assert.equal(layout.routers.length, 2, JSON.stringify(layout));
      assert.notEqual(layout.routers[0]!.workerPid, layout.routers[1]!.workerPid);
      assert.deepEqual(layout.routers[0]!.peers.sort(), [peerIds.host, peerIds.ana].sort());
      assert.deepEqual(layout.routers[1]!.peers, [peerIds.bo]);

      await decodesOthers(users);
      const piped = srv.app.rtc.layout(meetingId)!.pipes;
      // Each way: the host's and Ana's cameras and microphones to Bo's router, Bo's camera and
      // microphone (the one the active speaker observer uses too) to theirs.
      assert.ok(piped >= 6, `pipes: ${piped}`);

      // Data channels through the pipes.
      await pages.bo!.evaluate(() => window.meeting.say('hello from the other worker'));
      for (const user of ['host', 'ana']) {
        await pages[user]!.waitForFunction(
          () => window.meeting.messages.includes('hello from the other worker'),
          undefined,
          WAIT,
        );
      }
      await pages.host!.evaluate(() => window.meeting.say('hello bo'));
      await pages.bo!.waitForFunction(
        () => window.meeting.messages.includes('hello bo'),
        undefined,
        WAIT,
      );

      // The fake microphones beep: the one observer names a dominant speaker for everyone.
      for (const user of users) {
        const speaker = await pages[user]!.waitForFunction(
          () => window.meeting.events.find((e) => e.type === 'rtc:activeSpeaker')?.data.peerId,
          undefined,
          WAIT,
        );
        assert.ok(Object.values(peerIds).includes((await speaker.jsonValue()) as string));
      }

      // Bo's worker dies: Bo's media resets; the host and Ana hear his producers close and keep
      // decoding each other, untouched (their router is on the other worker).
      process.kill(layout.routers[1]!.workerPid, 'SIGKILL');
      await pages.bo!.waitForFunction(
        () => window.meeting.events.some((e) => e.type === 'rtc:mediaReset'),
        undefined,
        WAIT,
      );
      for (const user of ['host', 'ana']) {
        await pages[user]!.waitForFunction(
          (bo: string) =>
            window.meeting.events.filter(
              (e) => e.type === 'rtc:producerClosed' && e.data.peerId === bo,
            ).length === 2,
          peerIds.bo!,
          WAIT,
        );
      }
      await decodesOthers(['host', 'ana']);
      for (const user of ['host', 'ana']) {
        const resets = await pages[user]!.evaluate(
          () => window.meeting.events.filter((e) => e.type === 'rtc:mediaReset').length,
        );
        assert.equal(resets, 0, `${user}'s media was not reset`);
      }
      assert.equal(srv.app.rtc.has(meetingId), true, 'the meeting goes on');

      // Bo rejoins (as the SDK does on rtc:mediaReset) and everyone decodes everyone again.
      const again = await pages.bo!.evaluate(
        (o) => window.startMeeting(o).join(),
        await options('bo'),
      );
      peerIds.bo = again.peerId;
      await pages.bo!.evaluate(() => window.meeting.publish());
      await decodesOthers(users);
    } finally {
      for (const p of Object.values(pages)) await p.close();
    }
  },
);

/** Waits until `user`'s page decodes `count` remote videos with frames rising; returns them. */
async function decoding(p: Page, user: string, count: number): Promise<Video> {
  const first = await until(`${user} decoding ${count} videos`, () =>
    p.evaluate(async (n: number) => {
      const v = await window.meeting.video();
      return v.length === n && v.every((x) => x.framesDecoded > 0 && x.width > 0) && v;
    }, count),
  );
  await until(`${user}'s frames rising`, () =>
    p.evaluate(
      async ({ before, n }: { before: Video; n: number }) => {
        const v = await window.meeting.video();
        return (
          v.length === n &&
          v.every(
            (x) =>
              x.framesDecoded >
              (before.find((b) => b.peerId === x.peerId)?.framesDecoded ?? Infinity) + 5,
          )
        );
      },
      { before: first, n: count },
    ),
  );
  return first;
}
