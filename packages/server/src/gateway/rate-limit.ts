import type { CommandType } from '@parley/protocol';
import type { Config } from '../config/index.ts';

/**
 * What a message is, for its budget: call and meeting setup (invites, joins, and every other
 * control request) is held to the specs' strict rate; relayed signaling (offer/answer/ICE, room
 * signals, chat) and meeting requests (rtc:*) come in bursts by nature (an ICE restart, a join
 * that consumes every remote producer) and each get their own, larger budget. One class never
 * draws on another's, so a device joining a meeting cannot starve the ICE of a call.
 */
export type RateClass = 'setup' | 'signal' | 'meeting';

/** Every class, in a fixed order (the index of a class's bucket). */
export const RATE_CLASSES: readonly RateClass[] = ['setup', 'signal', 'meeting'];
/** A class's bucket index, without a search per message. */
const CLASS_INDEX = Object.fromEntries(RATE_CLASSES.map((c, i) => [c, i])) as Readonly<
  Record<RateClass, number>
>;

const SIGNAL: ReadonlySet<string> = new Set<CommandType>([
  'call:offer',
  'call:answer',
  'call:ice',
  'room:signal',
  'chat:send',
  'chat:signal',
]);

/**
 * The class of a command type (or a socket.io event name): meeting requests but the join,
 * relayed signaling, else setup (an unknown type too).
 */
export function rateClassOf(type: string): RateClass {
  if (type.startsWith('rtc:')) return type === 'rtc:join' ? 'setup' : 'meeting';
  return SIGNAL.has(type) ? 'signal' : 'setup';
}

/** One class's token bucket settings. */
export interface RateBudget {
  perSec: number;
  burst: number;
}

/** The budget of each class, from the `limits` config. */
export function rateBudgets(
  limits: Pick<
    Config['limits'],
    | 'ratePerSec'
    | 'rateBurst'
    | 'signalRatePerSec'
    | 'signalRateBurst'
    | 'meetingRatePerSec'
    | 'meetingRateBurst'
  >,
): Record<RateClass, RateBudget> {
  return {
    setup: { perSec: limits.ratePerSec, burst: limits.rateBurst },
    signal: { perSec: limits.signalRatePerSec, burst: limits.signalRateBurst },
    meeting: { perSec: limits.meetingRatePerSec, burst: limits.meetingRateBurst },
  };
}

/** The per-user message budgets as the gateway uses them: this node's alone, or cluster-wide. */
export interface RateCounter {
  /** Registers a connection of `userId` (budgets live while the user has connections). */
  attach(userId: string): void;
  detach(userId: string): void;
  /** Takes one message of `cls` from the budget; false when the user is over it. Never waits. */
  take(userId: string, cls: RateClass): boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per user and class, shared by all of the user's connections on this node:
 * `perSec` sustained with a burst of `burst`, so an ICE trickle or a meeting join passes while
 * a flood does not.
 */
export class RateLimiter implements RateCounter {
  private readonly users = new Map<string, { buckets: Bucket[]; refs: number }>();
  private readonly budgets: RateBudget[];

  constructor(
    budgets: Record<RateClass, RateBudget>,
    private readonly clock: () => number = Date.now,
  ) {
    this.budgets = RATE_CLASSES.map((c) => budgets[c]);
  }

  /** Registers a connection of `userId` (buckets live while the user has connections). */
  attach(userId: string): void {
    const u = this.users.get(userId);
    if (u) {
      u.refs++;
      return;
    }
    const at = this.clock();
    this.users.set(userId, {
      buckets: this.budgets.map((b) => ({ tokens: b.burst, at })),
      refs: 1,
    });
  }

  detach(userId: string): void {
    const u = this.users.get(userId);
    if (u && --u.refs === 0) this.users.delete(userId);
  }

  /** Takes one token of `cls`; false when the user is over that class's limit. */
  take(userId: string, cls: RateClass): boolean {
    const i = CLASS_INDEX[cls];
    const b = this.users.get(userId)?.buckets[i];
    const budget = this.budgets[i];
    if (!b || !budget) return false;
    const now = this.clock();
    b.tokens = Math.min(budget.burst, b.tokens + ((now - b.at) / 1000) * budget.perSec);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
