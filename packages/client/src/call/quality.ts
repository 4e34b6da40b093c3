/**
 * Connection quality from WebRTC statistics: round-trip time, packet loss and received bitrate
 * between two samples, graded for a signal-bars display.
 */

/** How good the call's media is. `lost`: nothing arrived since the last sample. */
export type QualityLevel = 'excellent' | 'good' | 'poor' | 'lost';

/** One quality reading. */
export interface CallQuality {
  level: QualityLevel;
  /** Round-trip time of the selected candidate pair, or null before there is one. */
  rttMs: number | null;
  /** Share of inbound packets lost since the last sample, 0–100. */
  lossPercent: number;
  /** Inbound media bitrate since the last sample. */
  inboundKbps: number;
}

/** The counters a reading compares with the next one. */
export interface QualitySample {
  at: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
}

interface StatLike {
  type: string;
  [key: string]: unknown;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Grades `report` against the previous sample (null for the first reading). */
export function measureQuality(
  report: { forEach(cb: (stat: StatLike) => void): void },
  previous: QualitySample | null,
  now: number,
): { quality: CallQuality; sample: QualitySample } {
  const sample: QualitySample = { at: now, bytesReceived: 0, packetsReceived: 0, packetsLost: 0 };
  let rtt: number | null = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp') {
      sample.bytesReceived += num(s.bytesReceived);
      sample.packetsReceived += num(s.packetsReceived);
      sample.packetsLost += num(s.packetsLost);
    } else if (s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') {
      if (typeof s.currentRoundTripTime === 'number') rtt = s.currentRoundTripTime * 1000;
    }
  });
  const dt = previous ? Math.max(1, now - previous.at) : 0;
  const received = previous ? sample.packetsReceived - previous.packetsReceived : 0;
  const lost = previous ? Math.max(0, sample.packetsLost - previous.packetsLost) : 0;
  const lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  const inboundKbps = previous ? ((sample.bytesReceived - previous.bytesReceived) * 8) / dt : 0;
  let level: QualityLevel;
  if (previous && received <= 0) level = 'lost';
  else if ((rtt ?? 0) < 150 && lossPercent < 2) level = 'excellent';
  else if ((rtt ?? 0) < 400 && lossPercent < 8) level = 'good';
  else level = 'poor';
  return {
    quality: {
      level,
      rttMs: rtt === null ? null : Math.round(rtt),
      lossPercent: Math.round(lossPercent * 10) / 10,
      inboundKbps: Math.round(inboundKbps),
    },
    sample,
  };
}
