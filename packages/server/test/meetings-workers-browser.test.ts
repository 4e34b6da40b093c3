import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { MeetingPageWindow } from '@parley/bench/browser';
import { MeetingBrowser, WAIT, decodedPeers } from './browser-kit.ts';
import type { TestServer } from './harness.ts';
import { createMeeting, joinMeeting, startMeetingServer } from './meeting-kit.ts';

/**
 * End to end in headless Chromium with fake devices: a meeting whose peers sit on routers on the
 * two workers of one node (a consumer budget of 2 per worker spreads it at the third peer), every
 * peer decoding every other's video through the pipes, data channels through them too; then
 * the worker of one peer dies, the others keep decoding each other, and that peer's page rejoins
 * by itself.
 */

/** The page's window, as the callbacks below see it when they run in the browser. */
declare const window: MeetingPageWindow;

let srv: TestServer;
let chromium: MeetingBrowser;

before(async () => {
  srv = await startMeetingServer({}, { workers: 2, consumersPerWorker: 2 });
  chromium = await MeetingBrowser.open();
});
after(async () => {
  await chromium?.close();
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
    // Every one of `among` decodes the others' video (and no other of `ignoring`'s peers):
    // frames rising, a real width.
    const decodesOthers = async (among: readonly string[], ignoring: string[] | null = null) => {
      for (const user of among) {
        const others = among
          .filter((u) => u !== user)
          .map((u) => peerIds[u]!)
          .sort();
        const counted = ignoring && [...others, ...ignoring];
        assert.deepEqual(
          await decodedPeers(pages[user]!, others.length, user, counted),
          others,
          `${user} sees the others`,
        );
      }
    };
    try {
      // One at a time: each joins, then publishes audio and simulcast video.
      for (const user of users) {
        const joined = await chromium.join(user, await options(user));
        peerIds[user] = joined.peerId;
        pages[user] = joined.page;
        await joined.page.evaluate(() => window.meeting.publish());
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

      // The fake microphones beep: the one observer names a dominant speaker for everyone (a
      // page that joined after it did knows it from rtc:join's answer: the event is a change).
      for (const user of users) {
        const speaker = await pages[user]!.waitForFunction(
          () => window.meeting.activeSpeaker,
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
      // Bo's page rejoins by itself meanwhile: his new peer does not count here, his old one
      // does (its video must be gone).
      await decodesOthers(['host', 'ana'], [peerIds.bo!]);
      for (const user of ['host', 'ana']) {
        const resets = await pages[user]!.evaluate(
          () => window.meeting.events.filter((e) => e.type === 'rtc:mediaReset').length,
        );
        assert.equal(resets, 0, `${user}'s media was not reset`);
      }
      assert.equal(srv.app.rtc.has(meetingId), true, 'the meeting goes on');

      // Bo's page joins again by itself on rtc:mediaReset (as the SDK does), on the live worker,
      // and publishes the same tracks: everyone decodes everyone again.
      const rejoined = await pages.bo!.waitForFunction(
        (old: string) =>
          window.meeting.rejoins === 1 && window.meeting.peerId !== old && window.meeting.peerId,
        peerIds.bo!,
        WAIT,
      );
      peerIds.bo = (await rejoined.jsonValue()) as string;
      await decodesOthers(users);
    } finally {
      for (const p of Object.values(pages)) await p.close();
    }
  },
);
