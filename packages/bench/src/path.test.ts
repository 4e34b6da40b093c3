import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPathPhase } from './path.ts';

test('the path phase relays every message through each server in-process, and times it', async () => {
  const lines: string[] = [];
  // A child throws unless every message it sent came out the other side, with its candidate.
  const f = await runPathPhase({
    trials: 1,
    messages: 2000,
    rounds: 1,
    peerjs: true,
    print: (l) => lines.push(l),
  });
  for (const s of [f.parley, f.peerjs!]) {
    assert.ok(s.median > 0 && Number.isFinite(s.median), JSON.stringify(s));
  }
  assert.ok(f.ratio && f.ratio.median > 0);
  // Parley relays the event with the call's parties; PeerJS adds the sender's id.
  const [parleyIn, parleyOut] = f.bytes.parley;
  assert.ok(parleyIn > 250 && parleyOut > parleyIn, `${parleyIn} / ${parleyOut}`);
  assert.ok(f.bytes.peerjs && f.bytes.peerjs[1] > f.bytes.peerjs[0]);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^ {2}Parley trial 1: [\d,]+ ns\/msg$/);
});
