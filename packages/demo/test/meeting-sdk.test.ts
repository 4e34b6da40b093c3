import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { TestClient } from '../../server/test/harness.ts';
import {
  audioRtp,
  createMeeting,
  joinMeeting,
  meetingWs,
  videoRtp,
} from '../../server/test/meeting-kit.ts';
import { sdkPage, startDemo, WAIT, type Demo } from './kit.ts';
import type { SdkPage } from './sdk-page.ts';

/**
 * The SDK's `joinMeeting()` in headless Chromium against a node with the default limits and a
 * real SFU: a meeting of many publishers is joined whole, and a late joiner knows who speaks.
 */

declare const window: { sdk: SdkPage };

const PUBLISHERS = 11;

let demo: Demo;
let page: Page;
const sockets: TestClient[] = [];
before(async () => {
  demo = await startDemo({}, true);
  page = await sdkPage(demo);
});
after(async () => {
  for (const c of sockets) c.close();
  await demo?.close();
});

/** A sample of /metrics (0 when absent). */
async function sample(name: string): Promise<number> {
  const text = await (await fetch(`${demo.srv.httpBase}/metrics`)).text();
  const hit = text.split('\n').find((l) => l.startsWith(`${name} `));
  return hit ? Number(hit.slice(name.length + 1)) : 0;
}

/** Sends a request and checks it is answered without an error; returns its data. */
async function ok(c: TestClient, type: string, data: unknown): Promise<Record<string, unknown>> {
  const r = await c.request(type, data);
  assert.ok(r.type !== 'rtc:error' && r.type !== 'error', `${type}: ${JSON.stringify(r)}`);
  return r.data as Record<string, unknown>;
}

/** Joins `users` to the meeting's media over the signaling, each publishing audio and video. */
async function publishers(meetingId: string, users: string[]): Promise<void> {
  await joinMeeting(demo.srv, meetingId, ...users);
  for (const [i, user] of users.entries()) {
    const c = await meetingWs(demo.srv, user);
    sockets.push(c);
    await ok(c, 'rtc:join', { meetingId });
    const send = await ok(c, 'rtc:createTransport', { meetingId, direction: 'send' });
    for (const [kind, rtpParameters] of [
      ['audio', audioRtp(2000 + i)],
      ['video', videoRtp()],
    ] as const) {
      await ok(c, 'rtc:produce', { meetingId, transportId: send.transportId, kind, rtpParameters });
    }
  }
}

describe('joinMeeting() in Chromium', () => {
  test(`a meeting of ${PUBLISHERS} publishers is joined with every track, nothing refused`, async (t) => {
    const users = Array.from({ length: PUBLISHERS }, (_, i) => `pub-${i}`);
    const meetingId = await createMeeting(demo.srv, users[0]!);
    await publishers(meetingId, users);
    const refused = await sample('parley_rate_limited_total');

    const ms = await page.evaluate(({ token, id }) => window.sdk.joinMeeting('joiner', token, id), {
      token: await demo.srv.token('joiner'),
      id: meetingId,
    });
    const m = await page.evaluate(() => window.sdk.meeting('joiner'));
    assert.equal(m.peers, PUBLISHERS);
    assert.equal(m.tracks.length, 2 * PUBLISHERS, 'a consumer for every remote producer');
    for (const kind of ['audio', 'video']) {
      assert.equal(m.tracks.filter((t) => t.kind === kind).length, PUBLISHERS, kind);
    }
    assert.deepEqual(
      m.tracks.filter((t) => t.readyState !== 'live'),
      [],
      'every track live',
    );
    assert.equal(await sample('parley_rate_limited_total'), refused, 'no request refused');
    t.diagnostic(`joinMeeting() took ${Math.round(ms)} ms`);
  });

  test('a peer that joins after the SFU named a speaker knows it at once', async () => {
    const meetingId = await createMeeting(demo.srv, 'speaker');
    await page.bringToFront();
    await page.evaluate(({ token, id }) => window.sdk.joinMeeting('speaker', token, id, true), {
      token: await demo.srv.token('speaker'),
      id: meetingId,
    });
    // The fake microphone beeps: the SFU names its only audio producer, once.
    await page.waitForFunction(
      () => {
        const m = window.sdk.meeting('speaker');
        return m.activeSpeaker !== null && m.activeSpeaker === m.peerId;
      },
      undefined,
      WAIT,
    );
    const speaker = (await page.evaluate(() => window.sdk.meeting('speaker'))).peerId;
    // The listener publishes nothing: no other audio, so the SFU never names anyone again.
    await page.evaluate(({ token, id }) => window.sdk.joinMeeting('listener', token, id), {
      token: await demo.srv.token('listener'),
      id: meetingId,
    });
    const listener = await page.evaluate(() => window.sdk.meeting('listener'));
    assert.equal(listener.activeSpeaker, speaker);
  });
});
