import { setTimeout as sleep } from 'node:timers/promises';
import type { PromisedCall } from './call-load.ts';

/** What the store shows of a set of promised calls. */
export interface RecordCheck {
  /** Calls whose record exists and is ended. */
  finalised: number;
  /** Calls with no record, or a record still open. */
  lost: string[];
  /** Finalised records by end reason. */
  reasons: Record<string, number>;
}

interface HistoryPage {
  data: {
    records: Array<{ callId: string; endedAt: string | null; reason: string | null }>;
    next: string | null;
  };
}

/**
 * Reads each caller's history through the REST API (`GET /api/calls`, paged) and checks that
 * every promised call is there and ended. One request per page per caller, not one per call.
 */
export async function checkRecords(
  httpBase: string,
  calls: Iterable<PromisedCall>,
  token: (userId: string) => Promise<string>,
): Promise<RecordCheck> {
  const byCaller = new Map<string, Set<string>>();
  for (const c of calls) {
    let set = byCaller.get(c.caller);
    if (!set) byCaller.set(c.caller, (set = new Set()));
    set.add(c.callId);
  }
  const result: RecordCheck = { finalised: 0, lost: [], reasons: {} };
  const callers = [...byCaller];
  // A few callers at a time: the REST API is rate-limited per user, not per run.
  for (let i = 0; i < callers.length; i += 16) {
    await Promise.all(
      callers.slice(i, i + 16).map(async ([caller, wanted]) => {
        const seen = await history(httpBase, caller, await token(caller));
        for (const callId of wanted) {
          const r = seen.get(callId);
          if (r && r.endedAt) {
            result.finalised++;
            const reason = r.reason ?? 'none';
            result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
          } else result.lost.push(callId);
        }
      }),
    );
  }
  return result;
}

async function history(
  httpBase: string,
  userId: string,
  token: string,
): Promise<Map<string, { endedAt: string | null; reason: string | null }>> {
  const out = new Map<string, { endedAt: string | null; reason: string | null }>();
  let cursor: string | null = null;
  for (;;) {
    const url = `${httpBase}/api/calls?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 429) {
      await sleep(1000);
      continue;
    }
    if (!res.ok) throw new Error(`GET /api/calls for ${userId}: HTTP ${res.status}`);
    const page = (await res.json()) as HistoryPage;
    for (const r of page.data.records) out.set(r.callId, r);
    cursor = page.data.next;
    if (!cursor) break;
  }
  return out;
}

/**
 * Polls until every call in `calls` is finalised; resolves with the ms it took, or rejects
 * with the last check after `timeoutMs`.
 */
export async function untilFinalised(
  httpBase: string,
  calls: PromisedCall[],
  token: (userId: string) => Promise<string>,
  timeoutMs = 120_000,
): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const check = await checkRecords(httpBase, calls, token).catch(() => null);
    if (check && check.lost.length === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`${check?.lost.length ?? 'all'} of ${calls.length} records still missing`);
    }
    await sleep(250);
  }
}
