import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureQuality } from './quality.ts';

/** A stats report with one inbound stream and the selected candidate pair. */
function report(o: { bytes: number; packets: number; lost: number; rtt?: number }) {
  return new Map<string, { type: string; [k: string]: unknown }>([
    [
      'in',
      {
        type: 'inbound-rtp',
        bytesReceived: o.bytes,
        packetsReceived: o.packets,
        packetsLost: o.lost,
      },
    ],
    ['out', { type: 'outbound-rtp', bytesSent: 999 }],
    [
      'pair',
      {
        type: 'candidate-pair',
        nominated: true,
        state: 'succeeded',
        currentRoundTripTime: o.rtt ?? 0.01,
      },
    ],
  ]);
}

test('the first reading only samples; the next grades rtt, loss and bitrate', () => {
  const first = measureQuality(report({ bytes: 0, packets: 0, lost: 0 }), null, 1_000);
  assert.equal(first.quality.level, 'excellent');
  const next = measureQuality(
    report({ bytes: 250_000, packets: 1000, lost: 0 }),
    first.sample,
    3_000,
  );
  assert.deepEqual(next.quality, {
    level: 'excellent',
    rttMs: 10,
    lossPercent: 0,
    inboundKbps: 1000,
  });
});

test('loss and round trip time lower the grade; silence is lost', () => {
  const s = measureQuality(report({ bytes: 0, packets: 0, lost: 0 }), null, 0).sample;
  const grade = (packets: number, lost: number, rtt: number) =>
    measureQuality(report({ bytes: 1000, packets, lost, rtt }), s, 2_000).quality;
  assert.equal(grade(950, 50, 0.05).level, 'good');
  assert.equal(grade(950, 50, 0.05).lossPercent, 5);
  assert.equal(grade(1000, 0, 0.3).level, 'good');
  assert.equal(grade(800, 200, 0.05).level, 'poor');
  assert.equal(grade(1000, 0, 0.6).level, 'poor');
  assert.equal(grade(0, 0, 0.01).level, 'lost');
});
