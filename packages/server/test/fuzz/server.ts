/**
 * How the fuzzed node is configured: the rate limits (every class) raised far above what the fuzzer sends
 * (each user's connections send hundreds of frames a second, which the default 10/s would
 * refuse after the first 40: every later frame would only test the limiter, which
 * bad-input.test.ts covers), and empty media rooms closed at once so that the run ends idle.
 * A flood close (4029) and rate_limited answers are still accepted as documented outcomes.
 */
export const FUZZ_SERVER = {
  config: {
    limits: {
      ratePerSec: 1_000_000,
      rateBurst: 1_000_000,
      signalRatePerSec: 1_000_000,
      signalRateBurst: 1_000_000,
      meetingRatePerSec: 1_000_000,
      meetingRateBurst: 1_000_000,
    },
  },
  sfu: { emptyRoomGraceMs: 100 },
} as const;
