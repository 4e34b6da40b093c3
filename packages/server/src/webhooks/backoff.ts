/**
 * The wait before attempt `attempts + 1` after `attempts` failed ones: doubling from `minMs`,
 * capped at `maxMs`, and spread over its upper half at random (so that the events of many
 * streams, and many Parleys, do not come back at a recovering receiver all at once).
 */
export function retryDelay(
  attempts: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(base / 2 + (random() * base) / 2);
}
