import type { ErrorBody, ErrorCode } from '@parley/protocol';

/** Error codes the SDK raises itself, besides the server's (docs/protocol.md, "Error codes"). */
export const ClientErrorCode = {
  /** The server did not answer a request in time. */
  Timeout: 'timeout',
  /** Not connected, and not reconnecting: call connect() first. */
  NotConnected: 'not_connected',
  /** The connection came back as a new device: requests of the old one were lost. */
  SessionLost: 'session_lost',
  /** The client was closed (disconnect()) while this was pending. */
  Closed: 'closed',
  /** Camera or microphone could not be opened (denied, missing, busy). */
  MediaFailed: 'media_failed',
  /** The browser lacks something this needs (WebRTC, a codec, screen capture). */
  Unsupported: 'unsupported',
} as const;

/** A code the SDK raises itself. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a ParleyError can carry: the server's and the SDK's own. */
export type ParleyErrorCode = ErrorCode | ClientErrorCode;

/**
 * The one error type of the SDK. Switch on `code`, never on `message`. Server errors keep the
 * server's code and details; misuse of the API is `invalid_state` or `bad_request`.
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';

  constructor(
    readonly code: ParleyErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The error the server sent. */
  static fromBody(body: ErrorBody): ParleyError {
    return new ParleyError(body.code, body.message, body.details);
  }

  /** A request got no answer within `ms`. */
  static timeout(type: string, ms: number): ParleyError {
    return new ParleyError('timeout', `${type}: no answer within ${ms} ms`, { type, ms });
  }

  /** Not connected. */
  static notConnected(): ParleyError {
    return new ParleyError('not_connected', 'not connected: call connect() first');
  }

  /** The old session's pending work is gone. */
  static sessionLost(): ParleyError {
    return new ParleyError('session_lost', 'the connection came back as a new device');
  }

  /** The client was closed. */
  static closed(): ParleyError {
    return new ParleyError('closed', 'the client was closed');
  }

  /** The API was used at the wrong moment (no call to hang up, already in a call, ...). */
  static invalidState(message: string): ParleyError {
    return new ParleyError('invalid_state', message);
  }

  /** A bad argument. */
  static badRequest(message: string): ParleyError {
    return new ParleyError('bad_request', message);
  }

  /** getUserMedia or getDisplayMedia failed; `cause` is the browser's error. */
  static mediaFailed(cause: unknown): ParleyError {
    const name = cause instanceof Error ? cause.name : 'Error';
    const message = cause instanceof Error ? cause.message : String(cause);
    return new ParleyError('media_failed', `cannot open media: ${name}: ${message}`, { name });
  }

  /** The browser cannot do this. */
  static unsupported(what: string): ParleyError {
    return new ParleyError('unsupported', `${what} is not supported in this browser`);
  }
}
