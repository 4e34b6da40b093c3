import type { BusRoutes, Delivery } from '../core/index.ts';
import type { SignalRelay } from '../relay/index.ts';
import type { RouteCache } from './route-cache.ts';

/**
 * The calls' bus messages for this node: the routes of answered calls with a device here (from
 * the call's owner), and the signals another node relays along them to a device here.
 */
export function routeCalls(
  router: BusRoutes,
  o: {
    routes: RouteCache;
    hub: Pick<Delivery, 'toDevice'>;
    relay: Pick<SignalRelay, 'offerPassed'>;
  },
): void {
  router
    .on('route', (m) => o.routes.put(m.route, o.hub))
    .on('unroute', (m) => {
      for (const id of m.callIds) o.routes.drop(id);
    })
    .on('relay', ({ to, event }) => {
      o.hub.toDevice(to, event);
      // The offer went through: ICE of this call no longer waits for one here either.
      if (event.type !== 'call:offer') return;
      const entry = o.routes.find(to.userId, { callId: event.callId });
      if (entry) o.relay.offerPassed(entry.relay);
    });
}
