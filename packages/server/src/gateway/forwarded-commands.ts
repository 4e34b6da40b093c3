import type { BusRoutes, LocalRunner, Requests } from '../core/index.ts';
import type { Hub } from './hub.ts';

/**
 * Commands other nodes forward to this one (the owner of their call, meeting or the rooms); the
 * outcome goes back as a reply (see Rpc). A forwarded command also says where its
 * sender is connected, which the hub keeps to answer it without asking the directory.
 */
export function routeForwardedCommands(
  router: BusRoutes,
  o: { rpc: Requests; hub: Pick<Hub, 'learn'>; run: LocalRunner },
): void {
  router.on('command', (m) => {
    o.hub.learn(m.sender.deviceId, m.replyTo);
    o.rpc.serve(m, o.run);
  });
}
