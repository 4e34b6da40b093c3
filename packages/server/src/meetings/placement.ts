import type { WorkerInfo } from '../sfu/index.ts';

/** Where a joining peer goes: one of the meeting's routers, or a new one on a worker. */
export type Placement = { router: number } | { newRouterOn: number };

/**
 * Places a peer that will consume about `expected` streams (the meeting's producers now), given
 * the workers of the meeting's routers in the order they were opened. The meeting fills a
 * worker before it spreads: the first of its routers whose worker keeps within `budget`
 * consumers with the newcomer; else the least loaded worker (`least`), with the meeting's
 * router there if it has one (every worker is full then), or a new router on it.
 */
export function place(
  routerPids: readonly number[],
  workers: readonly WorkerInfo[],
  budget: number,
  expected: number,
  least: WorkerInfo,
): Placement {
  const consumers = new Map(workers.map((w) => [w.pid, w.consumers]));
  const fits = routerPids.findIndex((pid) => (consumers.get(pid) ?? Infinity) + expected <= budget);
  if (fits >= 0) return { router: fits };
  const there = routerPids.indexOf(least.pid);
  return there >= 0 ? { router: there } : { newRouterOn: least.pid };
}
