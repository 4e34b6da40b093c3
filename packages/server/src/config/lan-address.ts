import { isIPv4 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

type Tree = Record<string, unknown>;

/** The first IPv4 address of a non-loopback interface: where peers on the LAN reach this host. */
export function lanAddress(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string | undefined {
  for (const infos of Object.values(interfaces)) {
    const found = infos?.find((i) => i.family === 'IPv4' && !i.internal);
    if (found) return found.address;
  }
  return undefined;
}

/**
 * Where the SFU's media sockets listen when `sfu.listenIp` is not set: where the HTTP server
 * listens (an IPv4 `HOST`), so that a server opened to the LAN (`HOST=0.0.0.0`) gets media
 * that works there too, not only on loopback. A wildcard needs an address to put in the ICE
 * candidates (mediasoup would give out 0.0.0.0): without `sfu.announcedIp`, the LAN address.
 * Returns what to merge under the configured tree.
 */
export function sfuAddressDefaults(tree: Tree, lan: () => string | undefined = lanAddress): Tree {
  const sfu = (tree.sfu ?? {}) as Tree;
  const host = (tree.server as Tree | undefined)?.host;
  const listenIp = sfu.listenIp ?? (typeof host === 'string' && isIPv4(host) ? host : undefined);
  if (typeof listenIp !== 'string') return {};
  const announcedIp = sfu.announcedIp ?? (listenIp === '0.0.0.0' ? lan() : undefined);
  return { sfu: announcedIp === undefined ? { listenIp } : { listenIp, announcedIp } };
}
