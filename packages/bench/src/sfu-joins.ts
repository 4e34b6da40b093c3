import type { Router } from '@parley/server';
import { JOIN_STEPS, stepMs, type JoinMark } from '../page/join-marks.ts';

/**
 * The join phase of `parley bench-sfu`, by where the joiner's media is served against the
 * publisher's:
 *
 * - same router: the joiner consumes from the publisher's router;
 * - other worker: the joiner is placed on a router of another worker of the same node (the
 *   publisher's worker is full: see WorkerFill), and the publisher's producers are piped to it
 *   (`pipeToRouter`) when it consumes them;
 * - other node: the joiner connects to a second node of a meeting that spans the cluster, and
 *   the producers come through a PipeTransport pair between the nodes.
 *
 * The cases take turns, one join each, so that the machine's load weighs on all of them alike.
 */
export type JoinCase = 'same router' | 'other worker' | 'other node';

/** The cases in the order they are measured and printed. */
export const JOIN_CASES: readonly JoinCase[] = ['same router', 'other worker', 'other node'];

/** Where a peer's media is served. */
export interface MediaHome {
  node: string;
  routerId: string;
  workerPid: number;
}

/** Where the joiner's media turned out to be, against the publisher's. */
export type Placement = JoinCase | 'other router of the same worker';

/** Where a joiner was placed, given where the publisher is. */
export function placementOf(joiner: MediaHome, publisher: MediaHome): Placement {
  if (joiner.node !== publisher.node) return 'other node';
  if (joiner.routerId === publisher.routerId) return 'same router';
  return joiner.workerPid === publisher.workerPid
    ? 'other router of the same worker'
    : 'other worker';
}

/** One measured join. */
export interface JoinSample {
  /** The case the join was meant to measure. */
  case: JoinCase;
  /** From join() to the first remote video frame presented, ms. */
  ms: number;
  /** When the join reached each of its steps (the page's clock, ms). */
  marks: Partial<Record<JoinMark, number>>;
  /** Where the joiner's media was. */
  placed: Placement;
  /**
   * Whether the publisher's video reached the joiner's router through a pipe: the meeting's
   * pipes between workers (other worker), a copy of the producer on the joiner's node (other
   * node); false when no pipe was needed (same router).
   */
  piped: boolean;
  /** How long the join waited for a free core before it started (see runSfuBench), ms. */
  waitedMs: number;
}

/** One case's figures. */
export interface JoinFigures {
  case: JoinCase;
  n: number;
  p50: number;
  p95: number;
  max: number;
  /** Joins placed as the case means (the rest are not in the percentiles). */
  asMeant: number;
  /** Joins whose video came through a pipe. */
  piped: number;
}

/** Nearest-rank percentile of sorted values. */
export const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/**
 * Per case measured, in JOIN_CASES order: percentiles over the joins placed as the case
 * means (a join placed elsewhere measured another case), and how many were piped.
 */
export function joinFigures(samples: readonly JoinSample[]): JoinFigures[] {
  return JOIN_CASES.flatMap((c) => {
    const all = samples.filter((s) => s.case === c);
    if (all.length === 0) return [];
    const meant = all.filter((s) => s.placed === c);
    const ms = meant.map((s) => s.ms).sort((a, b) => a - b);
    return [
      {
        case: c,
        n: all.length,
        p50: pct(ms, 50),
        p95: pct(ms, 95),
        max: ms.at(-1) ?? NaN,
        asMeant: meant.length,
        piped: meant.filter((s) => s.piped).length,
      },
    ];
  });
}

/** One step's durations in one case, ms. */
export interface StepFigures {
  step: string;
  p50: number;
  p95: number;
}

/**
 * Per case measured (JOIN_CASES order), each step's p50 and p95 over the joins placed as the
 * case means; NaN where no join recorded the step.
 */
export function stepFigures(
  samples: readonly JoinSample[],
): Array<{ case: JoinCase; steps: StepFigures[] }> {
  return JOIN_CASES.flatMap((c) => {
    const meant = samples.filter((s) => s.case === c && s.placed === c);
    if (meant.length === 0) return [];
    const steps = JOIN_STEPS.map((step) => {
      const ms = meant
        .map((s) => stepMs(step, s.marks))
        .filter((x) => !Number.isNaN(x))
        .sort((a, b) => a - b);
      return { step: step.name, p50: pct(ms, 50), p95: pct(ms, 95) };
    });
    return [{ case: c, steps }];
  });
}

/**
 * Fills a worker to a meeting's consumer budget (`sfu.consumersPerWorker`) with paused
 * consumers of a producer, so that the meeting places its next peer on another worker, as it
 * does when a worker is full. Paused consumers forward nothing: they count, and cost nothing.
 */
export class WorkerFill {
  private transport: { close(): void } | null = null;

  constructor(
    private readonly router: Router,
    private readonly producerId: string,
    private readonly consumers: number,
  ) {}

  /** Adds the consumers (idempotent). */
  async fill(): Promise<void> {
    if (this.transport) return;
    const t = await this.router.createDirectTransport();
    this.transport = t;
    const { rtpCapabilities } = this.router;
    for (let i = 0; i < this.consumers; i++) {
      await t.consume({ producerId: this.producerId, rtpCapabilities, paused: true });
    }
  }

  /** Removes them (idempotent). */
  empty(): void {
    this.transport?.close();
    this.transport = null;
  }
}
