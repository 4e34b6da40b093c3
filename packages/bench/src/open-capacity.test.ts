import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PROBE_BUSY, probeAgainAt, probeOpenCapacity, PROBE_LOAD } from './open-capacity.ts';
import { withParley } from './parley.kit.ts';
import { parleyTarget } from './relay.ts';

test('the open loop capacity probe sizes its load from the batched capacity and takes the costlier server', async () => {
  await withParley(async (base, mint) => {
    // In process, so the "server's" CPU is this process's: real, and measurable.
    const target = (name: string, pid?: number) => parleyTarget(base, mint, pid, base, name);
    const loop = { ratePerSide: 20, seconds: 1, warmupSeconds: 0.5, drainMs: 2000 };
    const lines: string[] = [];
    const batched = (4 * 40) / PROBE_LOAD; // 4 pairs at 40 msgs/s each are PROBE_LOAD of it
    const r = await probeOpenCapacity({
      targets: [target('one', process.pid), target('two', process.pid)],
      batched,
      loop,
      tag: 'oc',
      print: (l) => lines.push(l),
    });
    assert.ok(r);
    assert.equal(r.probe.pairs, 4);
    assert.equal(r.probe.offeredPerSec, 160);
    assert.equal(r.batched, batched);
    assert.equal(r.probe.cpuUsPerMessage.length, 2);
    for (const us of r.probe.cpuUsPerMessage) assert.ok(us > 0 && Number.isFinite(us), `${us} µs`);
    for (const b of r.probe.busy) assert.ok(b > 0 && b <= MAX_PROBE_BUSY, `busy ${b}`);
    assert.equal(r.capacity, 1e6 / Math.max(...r.probe.cpuUsPerMessage));
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /capacity probe, two +4 pairs: .*% of a core, .* µs\/msg/);

    // A server whose CPU is not ours (a running one, `--url`) cannot be probed.
    const none = await probeOpenCapacity({
      targets: [target('one', process.pid), target('url')],
      batched,
      loop,
      tag: 'oc2',
      print: () => {},
    });
    assert.equal(none, undefined);
  });
});

test('a probe that found a server near a full core is run again lower', () => {
  assert.equal(probeAgainAt(1000, [0.5, MAX_PROBE_BUSY]), undefined);
  // 1,000 pairs kept the busier server at 97%: aim at 80% of the bound, 0.68 of a core.
  assert.equal(probeAgainAt(1000, [0.97, 0.9]), Math.floor((1000 * MAX_PROBE_BUSY * 0.8) / 0.97));
  assert.ok(probeAgainAt(1000, [0.97, 0.9])! < 1000 * (MAX_PROBE_BUSY / 0.97));
  assert.equal(probeAgainAt(1, [1]), undefined);
  assert.equal(probeAgainAt(2, [1]), 1);
});
