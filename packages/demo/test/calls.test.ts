import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliceAndBob,
  answer,
  expectDecoding,
  expectHistory,
  placeCall,
  seeOnline,
  signIn,
  startDemo,
  userContext,
  videoFrames,
  WAIT,
  type Demo,
} from './kit.ts';

/**
 * 1:1 calls through the demo and the SDK in headless Chromium, as users make them: two users in
 * two browser contexts, clicking the demo's buttons; media checked by decoded video frames.
 */

const GRACE_MS = 3_000;

declare const window: { __sockets: WebSocket[] };

describe('calls in the demo', () => {
  let demo: Demo;
  before(async () => {
    demo = await startDemo({
      // Short enough for the no-answer test, long enough that a loaded machine answers in time:
      // at load 25-30 placing a call and clicking Accept took over 10 s.
      calls: { inviteTtlMs: 30_000, disconnectGraceMs: GRACE_MS },
      limits: { rateBurst: 200, ratePerSec: 50 },
    });
  });
  after(() => demo?.close());

  test(
    'alice calls bob: both tabs ring, one answers, the other hears it was answered elsewhere; video both ways; hang up; history',
    { timeout: 180_000 },
    async () => {
      const alice = await userContext(demo);
      const bob = await userContext(demo);
      try {
        const a = await signIn(demo, alice, 'alice');
        const b1 = await signIn(demo, bob, 'bob');
        const b2 = await signIn(demo, bob, 'bob');
        await seeOnline(a, 'bob');

        await placeCall(a, 'bob', 'video');
        for (const b of [b1, b2]) {
          await b.getByTestId('incoming-call').waitFor(WAIT);
          assert.match((await b.getByTestId('incoming-call').textContent()) ?? '', /Alice/);
        }
        // The toast shows for 4 s only: watched for from before the answer, since b1's call
        // screen can take longer than that to come up on a loaded machine.
        await Promise.all([
          answer(b1),
          b2.getByTestId('toast').filter({ hasText: 'Answered on another device' }).waitFor(WAIT),
        ]);
        await b2.getByTestId('incoming-call').waitFor({ state: 'detached', ...WAIT });
        await b2.getByTestId('lobby').waitFor(WAIT);

        await expectDecoding(a, '[data-testid=remote-video]');
        await expectDecoding(b1, '[data-testid=remote-video]');
        await a
          .getByTestId('call-timer')
          .filter({ hasText: /^0:0[1-9]/ })
          .waitFor(WAIT);
        await a
          .getByTestId('call-quality')
          .and(a.locator(':not([data-level=unknown])'))
          .waitFor(WAIT);

        // Mute and camera toggles work during the call.
        await b1.getByTestId('btn-mute').click();
        assert.equal(await b1.getByTestId('btn-mute').getAttribute('aria-pressed'), 'true');

        await a.getByTestId('btn-hangup').click();
        // Toasts show for 4 s only: each is watched for from the moment its cause can happen.
        await Promise.all([
          a.getByTestId('lobby').waitFor(WAIT),
          b1.getByTestId('toast').filter({ hasText: 'Alice hung up' }).waitFor(WAIT),
        ]);
        await b1.getByTestId('lobby').waitFor(WAIT);
        const cid = await expectHistory(a, 'completed');
        assert.equal(await expectHistory(b1, 'completed'), cid);
        assert.equal(await expectHistory(b2, 'completed'), cid, "bob's other tab lists it too");
        // The SDK told the server its media connected (call:media): the record has it.
        const res = await fetch(`${demo.srv.httpBase}/api/calls/${encodeURIComponent(cid)}`, {
          headers: { authorization: `Bearer ${await demo.srv.token('alice')}` },
        });
        const { data } = (await res.json()) as { data: Record<string, unknown> };
        assert.match(String(data.mediaConnectedAt), /^\d{4}-\d\d-\d\dT/, JSON.stringify(data));
        assert.equal(data.mediaFailedReason, null);
      } finally {
        await alice.close();
        await bob.close();
      }
    },
  );

  test('bob rejects: alice is told, both list it as declined', { timeout: 120_000 }, async () => {
    await aliceAndBob(demo, async (a, b) => {
      await placeCall(a, 'bob', 'audio');
      await b.getByTestId('incoming-call').waitFor(WAIT);
      assert.match((await b.getByTestId('incoming-call').textContent()) ?? '', /audio call/);
      await b.getByTestId('incoming-reject').click();
      await a.getByTestId('toast').filter({ hasText: 'Bob declined' }).waitFor(WAIT);
      await a.getByTestId('lobby').waitFor(WAIT);
      const cid = await expectHistory(a, 'rejected');
      assert.equal(await expectHistory(b, 'rejected'), cid);
    });
  });

  test(
    'nobody answers: the call ends as no answer, a missed call for bob',
    { timeout: 120_000 },
    async () => {
      await aliceAndBob(demo, async (a, b) => {
        await placeCall(a, 'bob', 'video');
        await b.getByTestId('incoming-call').waitFor(WAIT);
        // Both toasts come at the invite's expiry and show for 4 s only: watched for together.
        await Promise.all([
          a.getByTestId('toast').filter({ hasText: 'No answer' }).waitFor(WAIT),
          b.getByTestId('toast').filter({ hasText: 'Missed call from alice' }).waitFor(WAIT),
        ]);
        await b.getByTestId('incoming-call').waitFor({ state: 'detached', ...WAIT });
        const cid = await expectHistory(a, 'missed');
        assert.equal(await expectHistory(b, 'missed'), cid);
      });
    },
  );

  test(
    "bob's network drops mid-call: the SDK resumes his device and the call goes on",
    { timeout: 180_000 },
    async () => {
      await aliceAndBob(demo, async (a, b) => {
        await placeCall(a, 'bob', 'video');
        await answer(b);
        await expectDecoding(a, '[data-testid=remote-video]');
        await expectDecoding(b, '[data-testid=remote-video]');

        // Cut bob's signaling socket; the SDK reconnects with its resume token.
        await b.evaluate(() => window.__sockets.at(-1)!.close());
        await b.waitForFunction(
          () => window.__sockets.length === 2 && window.__sockets[1]!.readyState === 1,
          undefined,
          WAIT,
        );
        await b.waitForFunction(
          () => !document.body.classList.contains('offline'),
          undefined,
          WAIT,
        );
        // Past the server's grace the call is still up on both sides, media still flowing.
        await new Promise((r) => setTimeout(r, GRACE_MS + 1_000));
        for (const p of [a, b]) {
          assert.equal(await p.getByTestId('call-screen').count(), 1);
          await expectDecoding(p, '[data-testid=remote-video]');
        }
        // Signaling works after the resume: bob hangs up and alice hears it.
        const before = await videoFrames(a, '[data-testid=remote-video]');
        assert.ok(before.frames > 0);
        await b.getByTestId('btn-hangup').click();
        await a.getByTestId('toast').filter({ hasText: 'Bob hung up' }).waitFor(WAIT);
        const cid = await expectHistory(a, 'completed');
        assert.equal(await expectHistory(b, 'completed'), cid);
      });
    },
  );
});
