/**
 * Resumable sessions on the native endpoint. A client that connects with `?resumable=1` gets a
 * `session:ready` frame first; after a drop it reconnects with `?resume=<resumeToken>` within
 * `graceMs` and gets its device back (same `deviceId`, its calls and meeting membership intact,
 * and every frame sent to it meanwhile). See docs/protocol.md, "Resuming a session".
 */

/** The data of `session:ready`, the first frame of a resumable connection. */
export interface SessionReady {
  /** The signed-in user (the token's `sub`). */
  userId: string;
  /** The device this connection is; unchanged by a successful resume. */
  deviceId: string;
  /** Single use: the next reconnect presents it as `?resume=`; every session:ready rotates it. */
  resumeToken: string;
  /** True when `?resume=` named a live session and this connection took its device over. */
  resumed: boolean;
  /** How long after a drop the device waits for its resume before it is gone. */
  graceMs: number;
  /**
   * When the connection's token expires (epoch ms): the server closes the connection then
   * (4001) unless `auth:refresh` gave it a later token.
   */
  tokenExpiresAt: number;
}

/** An RTCIceServer as browsers take it (`GET /api/media-config`). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}
