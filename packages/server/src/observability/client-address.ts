import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { ClientInfo } from '../core/index.ts';

/** `::ffff:10.0.0.1` is the IPv4 address 10.0.0.1 as a dual-stack socket reports it. */
const unmap = (ip: string): string =>
  ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;

/**
 * Parses the trusted proxies (addresses or CIDRs). Throws on an entry that is neither, so a
 * typo in the configuration stops the server instead of trusting nothing (or everything).
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`trusted proxy ${entry}: not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

const trusts = (list: BlockList, ip: string): boolean =>
  list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');

/**
 * The client's address: the socket's peer, or, while that peer is a trusted proxy, the next
 * address to the left in X-Forwarded-For (the rightmost untrusted hop, as proxy-addr does).
 * Entries a client wrote itself sit left of the first untrusted hop and are never believed.
 */
export function clientInfo(req: IncomingMessage, proxies: BlockList): ClientInfo {
  const userAgent = req.headers['user-agent'] ?? null;
  const peer = req.socket.remoteAddress;
  if (peer === undefined) return { userAgent, ip: null };
  let ip = unmap(peer);
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => unmap(h.trim()))
    .filter((h) => h !== '');
  while (trusts(proxies, ip)) {
    const next = hops.pop();
    if (next === undefined || isIP(next) === 0) break;
    ip = next;
  }
  return { userAgent, ip };
}
