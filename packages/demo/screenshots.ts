import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import {
  answer,
  expectDecoding,
  placeCall,
  seeOnline,
  signIn,
  startDemo,
  userContext,
  WAIT,
} from './test/kit.ts';

/**
 * Takes the README's screenshots of the demo (`npm run docs:screenshots`): sign-in, lobby (also
 * on a phone), incoming call, in-call, and a meeting of three. Needs Chromium and the SFU worker.
 */

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${OUT}${name}.png` });
  process.stdout.write(`docs/screenshots/${name}.png\n`);
}

mkdirSync(OUT, { recursive: true });
const demo = await startDemo({ calls: { inviteTtlMs: 60_000 } }, true);
try {
  const [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => userContext(demo)));

  const signin = await alice!.newPage();
  await signin.goto(demo.url);
  await signin.getByTestId('signin-user').fill('alice');
  await signin.getByTestId('signin-name').fill('Alice Chen');
  await shot(signin, 'signin');
  await signin.close();

  const a = await signIn(demo, alice!, 'alice', 'Alice Chen');
  const b = await signIn(demo, bob!, 'bob', 'Bob Martin');
  const c = await signIn(demo, carol!, 'carol', 'Carol Diaz');
  await seeOnline(a, 'bob');
  await seeOnline(a, 'carol');

  // Some history: a declined audio call, then a short video call.
  await placeCall(a, 'carol', 'audio');
  await c.getByTestId('incoming-reject').click();
  await a.getByTestId('lobby').waitFor(WAIT);
  await placeCall(a, 'bob', 'video');
  await answer(b);
  await expectDecoding(a, '[data-testid=remote-video]');
  await a.getByTestId('btn-hangup').click();
  await a.getByTestId('history-item').nth(1).waitFor(WAIT);
  await new Promise((r) => setTimeout(r, 4_500)); // let the toasts fade
  await shot(a, 'lobby');

  const phone = await alice!.newPage();
  await phone.setViewportSize({ width: 390, height: 780 });
  await phone.goto(demo.url);
  await phone.getByTestId('signin-user').fill('alice');
  await phone.getByTestId('signin-name').fill('Alice Chen');
  await phone.getByTestId('signin-submit').click();
  await phone.getByTestId('history-item').nth(1).waitFor(WAIT);
  await seeOnline(phone, 'bob');
  await shot(phone, 'lobby-phone');
  await phone.close();

  await placeCall(b, 'alice', 'video');
  await a.getByTestId('incoming-call').waitFor(WAIT);
  await new Promise((r) => setTimeout(r, 600));
  await shot(a, 'incoming-call');
  await answer(a);
  await expectDecoding(a, '[data-testid=remote-video]');
  await a.getByTestId('call-quality').and(a.locator(':not([data-level=unknown])')).waitFor(WAIT);
  await shot(a, 'in-call');
  await a.getByTestId('btn-hangup').click();
  await a.getByTestId('lobby').waitFor(WAIT);

  for (const p of [a, b, c]) {
    await p.bringToFront();
    if (p === a) await p.getByTestId('meeting-create').click();
    else {
      const id = (await a.getByTestId('meeting-id').textContent())!;
      await p.getByTestId('meeting-id-input').fill(id);
      await p.getByTestId('meeting-join').click();
    }
    await p.locator('[data-testid=meeting-tile].is-local.has-video').waitFor(WAIT);
  }
  await a.locator('[data-testid=meeting-tile].has-video').nth(2).waitFor(WAIT);
  await a.locator('[data-testid=meeting-tile][data-speaking=true]').first().waitFor(WAIT);
  await new Promise((r) => setTimeout(r, 4_500));
  await shot(a, 'meeting');
} finally {
  await demo.close();
}
