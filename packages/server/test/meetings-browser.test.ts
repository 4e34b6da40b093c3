import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { MeetingPageWindow } from '@parley/bench/browser';
import { MeetingBrowser, WAIT, decodedPeers, heardPeerGone, untilPage } from './browser-kit.ts';
import type { TestServer } from './harness.ts';
import { createMeeting, joinMeeting, rest, startMeetingServer } from './meeting-kit.ts';

/**
 * End to end in headless Chromium with fake devices: three participants run the spec's
 * mediasoup-client flow (packages/bench/page/client.ts), publish audio and simulcast video, and
 * decode one another; one leaves; the host ends the meeting. Once over the raw WebSocket
 * endpoint, once over socket.io. Waits are event-driven with generous limits (two shared cores).
 */

/** The page's window, as the callbacks below see it when they run in the browser. */
declare const window: MeetingPageWindow;

describe('meetings in Chromium', () => {
  let srv: TestServer;
  let chromium: MeetingBrowser;

  before(async () => {
    srv = await startMeetingServer();
    chromium = await MeetingBrowser.open();
  });
  after(async () => {
    await chromium?.close();
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
            const joined = await chromium.join(user, {
              server: transport === 'ws' ? srv.wsBase : srv.httpBase,
              transport,
              token: await srv.token(user, { name: user }),
              meetingId,
              // All three simulcast layers from the start, as apps do (mediasoup's demo too).
              sendStartKbps: 1000,
            });
            peerIds[user] = joined.peerId;
            pages[user] = joined.page;
          }
          for (const user of users) await pages[user]!.evaluate(() => window.meeting.publish());

          // Everyone decodes the two others' video: frames rising, a real width.
          for (const user of users) {
            const others = users
              .filter((u) => u !== user)
              .map((u) => peerIds[u])
              .sort();
            assert.deepEqual(
              await decodedPeers(pages[user]!, 2, user),
              others,
              `${user} sees the others`,
            );
          }

          // Simulcast: the SFU receives three encodings of each camera.
          for (const user of users) {
            await untilPage(`three simulcast streams from ${user}`, () =>
              pages[user]!.evaluate(async () => {
                const s = await window.meeting.videoProducerStats();
                return s.length === 3 && new Set(s.map((x) => x.rid)).size === 3;
              }),
            );
          }

          // The fake microphones beep: the SFU names a dominant speaker.
          const speaker = await pages.ana!.waitForFunction(
            () => window.meeting.activeSpeaker,
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
            await heardPeerGone(p, peerIds.bo!);
            const v = await p.evaluate(() => window.meeting.video());
            assert.equal(v.length, 1, `${user} still decodes one video`);
          }

          // The host ends the meeting: everyone left hears rtc:meetingEnded, and the SFU closes
          // the transports their media came on.
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
          // Media stops: the worker's DTLS close alert reaches each page, and no RTP packet comes
          // after it. Packets, not decoded frames: a loaded page goes on decoding what came
          // before the end (5 frames in 1.5 s at load 35, 1 after the close at load 40).
          const packets = (user: string) =>
            pages[user]!.evaluate(async () =>
              (await window.meeting.video()).map((v) => v.packetsReceived),
            );
          const atClose: Record<string, number[]> = {};
          for (const user of ['host', 'ana']) {
            await untilPage(`the SFU closing ${user}'s media transport`, () =>
              pages[user]!.evaluate(async () => {
                const v = await window.meeting.video();
                return v.length === 1 && v.every((x) => x.sfuClosed);
              }),
            );
            // The count once it holds still: Chrome counts a packet that came before the close a
            // moment later (its stats trail its network thread), so the count at the close
            // alert itself may still grow by a packet or two of the last frame (seen at load).
            let last = await packets(user);
            await untilPage(`${user}'s packet count holding still after the close`, async () => {
              await new Promise((r) => setTimeout(r, 250));
              const now = await packets(user);
              const still = JSON.stringify(now) === JSON.stringify(last);
              last = now;
              return still;
            });
            atClose[user] = last;
          }
          // Not a wait for a condition: the time given to a late packet to show up.
          await new Promise((r) => setTimeout(r, 1500));
          for (const user of ['host', 'ana']) {
            assert.deepEqual(await packets(user), atClose[user], `no packet after ${user}'s close`);
          }
        } finally {
          for (const p of Object.values(pages)) await p.close();
        }
      },
    );
  }
});
