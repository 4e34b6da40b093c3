import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { signIn, startDemo, step, userContext, WAIT, type Demo } from './kit.ts';

/**
 * A meeting of three through the demo on the SFU (real mediasoup worker, headless Chromium): the
 * host starts it, two join by its ID, everyone decodes the two others' video, the active speaker
 * is highlighted, one leaves, the host ends it.
 */

/** Remote tiles of `page` whose video shows frames, and more of them over time. */
async function expectRemoteVideos(page: Page, count: number): Promise<void> {
  const frames = () =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=meeting-tile]:not(.is-local)')].map(
        (t) => {
          const v = t.querySelector('video')!;
          return { width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames };
        },
      ),
    );
  await page.waitForFunction(
    (n) => {
      const tiles = [
        ...document.querySelectorAll<HTMLElement>('[data-testid=meeting-tile]:not(.is-local)'),
      ];
      return (
        tiles.length === n &&
        tiles.every((t) => {
          const v = t.querySelector('video')!;
          return v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 3;
        })
      );
    },
    count,
    WAIT,
  );
  const first = await frames();
  await page.waitForFunction(
    (before) =>
      [...document.querySelectorAll<HTMLElement>('[data-testid=meeting-tile]:not(.is-local)')]
        .map((t) => t.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames)
        .every((f, i) => f > before[i]!.frames + 5),
    first,
    WAIT,
  );
}

/** Opens the meeting screen from the lobby and waits for the local camera in its tile. */
async function enter(page: Page, meetingId?: string): Promise<void> {
  step(`enter the meeting ${meetingId ?? '(new)'}`);
  await page.bringToFront();
  if (meetingId) {
    await page.getByTestId('meeting-id-input').fill(meetingId);
    await page.getByTestId('meeting-join').click();
  } else {
    await page.getByTestId('meeting-create').click();
  }
  await page.getByTestId('meeting-screen').waitFor(WAIT);
  step('meeting screen');
  await page.locator('[data-testid=meeting-tile].is-local.has-video').waitFor(WAIT);
  step('local video');
}

describe('meetings in the demo', () => {
  let demo: Demo;
  before(async () => {
    demo = await startDemo({ limits: { rateBurst: 400, ratePerSec: 100 } }, true);
  });
  after(() => demo?.close());

  test(
    'three people: grid of videos, active speaker, one leaves, the host ends it',
    // A hang guard: each wait is bounded on its own, and a loaded machine makes them long.
    { timeout: 600_000 },
    async () => {
      const contexts = await Promise.all(['host', 'ana', 'bo'].map(() => userContext(demo)));
      try {
        const [host, ana, bo] = await Promise.all(
          (['host', 'ana', 'bo'] as const).map((u, i) => signIn(demo, contexts[i]!, u)),
        );
        await enter(host!);
        const meetingId = (await host!.getByTestId('meeting-id').textContent())!;
        assert.match(meetingId, /^[0-9a-f-]{36}$/);
        await enter(ana!, meetingId);
        await enter(bo!, meetingId);

        for (const p of [host!, ana!, bo!]) {
          await p.locator('[data-testid=meeting-tile]').nth(2).waitFor(WAIT);
          assert.equal(await p.getByTestId('meeting-count').textContent(), '3');
          await expectRemoteVideos(p, 2);
        }
        const names = await ana!.locator('[data-testid=meeting-tile] .tile-name').allTextContents();
        assert.deepEqual(names.sort(), ['Ana (you)', 'Bo', 'Host']);

        // The fake microphones beep: the SFU names a speaker and every page highlights one tile.
        for (const p of [host!, ana!, bo!]) {
          await p.locator('[data-testid=meeting-tile][data-speaking=true]').first().waitFor(WAIT);
        }

        await bo!.getByTestId('meeting-leave').click();
        await bo!.getByTestId('lobby').waitFor(WAIT);
        for (const p of [host!, ana!]) {
          await p.waitForFunction(
            () => document.querySelectorAll('[data-testid=meeting-tile]').length === 2,
            undefined,
            WAIT,
          );
          await expectRemoteVideos(p, 1);
        }

        assert.equal(
          await ana!.getByTestId('meeting-end').isVisible(),
          false,
          'only the host may end',
        );
        // The toast shows for 4 s only: watched for from before the click that causes it.
        await Promise.all([
          host!.getByTestId('meeting-end').click(),
          ana!.getByTestId('toast').filter({ hasText: 'The host ended the meeting' }).waitFor(WAIT),
        ]);
        await ana!.getByTestId('lobby').waitFor(WAIT);
        await host!.getByTestId('lobby').waitFor(WAIT);
        assert.equal(demo.srv.app.rtc.has(meetingId), false, 'the media room is closed');
      } finally {
        for (const c of contexts) await c.close();
      }
    },
  );
});
