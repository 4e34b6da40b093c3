import type { BusRoutes, Requests, SpanRequest } from '../core/index.ts';
import type { RtcService } from './rtc.ts';

/**
 * Meetings spanning the nodes: news and pipe requests between the nodes serving one, handed
 * to this node's share of it (RtcService's `span`; none when meetings do not span the nodes).
 */
export function routeSpan(
  router: BusRoutes,
  requests: Requests,
  rtc: Pick<RtcService, 'span'>,
): void {
  const answer = (m: SpanRequest & { corr: string; replyTo: string }) =>
    requests.answer(m, m.kind, () => rtc.span?.answer(m.replyTo, m) ?? null);
  router
    .on('span-snapshot', answer)
    .on('span-pipe', answer)
    .on('span-event', (m) => rtc.span?.notice(m.from, m))
    .on('span-unpipe', (m) => rtc.span?.notice(m.from, m))
    .on('span-start', (m) => rtc.span?.notice(m.from, m));
}
