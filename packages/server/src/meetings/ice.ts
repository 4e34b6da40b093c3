import { createHmac } from 'node:crypto';
import type { Config } from '../config/index.ts';

/** An RTCIceServer as browsers take it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * The ICE servers for one user: the configured STUN URLs, and the TURN URLs with an ephemeral
 * credential in the TURN REST API form that coturn's `use-auth-secret` accepts: the username is
 * `<expiry unix seconds>:<userId>`, the credential base64(HMAC-SHA1(secret, username)).
 */
export function iceServers(ice: Config['ice'], userId: string, nowMs: number): IceServer[] {
  const urls = (list: readonly string[]) => (list.length === 1 ? list[0]! : [...list]);
  const servers: IceServer[] = ice.stunUrls.map((u) => ({ urls: u }));
  if (ice.turnUrls.length > 0 && ice.turnSecret) {
    const username = `${Math.floor(nowMs / 1000) + ice.turnTtlSec}:${userId}`;
    const credential = createHmac('sha1', ice.turnSecret).update(username).digest('base64');
    servers.push({ urls: urls(ice.turnUrls), username, credential });
  }
  return servers;
}
