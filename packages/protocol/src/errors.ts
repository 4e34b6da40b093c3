/**
 * Parley's error vocabulary. Clients switch on `code`, never on `message`.
 * Each dialect maps these codes to its own (see docs/protocol.md).
 */
export const ErrorCode = {
  /** The frame is not valid JSON / protobuf, or its shape is wrong. */
  BadRequest: 'bad_request',
  /** The frame names a type or command this endpoint does not know. */
  UnknownType: 'unknown_type',
  /** The frame is larger than the configured maximum. */
  FrameTooLarge: 'frame_too_large',
  /** The sender exceeded the per-user message rate. */
  RateLimited: 'rate_limited',
  /**
   * The sender holds as many of something as one user may (ringing calls, live meetings, media
   * peers, transports): `details.limit` names the cap and `details.max` its value.
   */
  LimitExceeded: 'limit_exceeded',
  /** Missing, bad or expired credentials. */
  Unauthorized: 'unauthorized',
  /** The sender may not do this (spoofed identity, missing grant, not a party). */
  Forbidden: 'forbidden',
  /** The call, meeting or resource does not exist (or is not visible to the sender). */
  NotFound: 'not_found',
  /** The sender is not a party of the call the message is about. */
  NotInCall: 'not_in_call',
  /** The call exists but is not in a state that allows this command. */
  InvalidState: 'invalid_state',
  /** The two users share no room (ROOM: 1000 用户不在同一房间内). */
  NotInRoom: 'not_in_room',
  /** The target user has no connected device (ROOM: 1000 目标用户不在线). */
  TargetOffline: 'target_offline',
  /** An answer or ICE with no offer before it between the pair (ROOM: 1000 没有对应的连接请求). */
  NoConnection: 'no_connection',
  /** A user tried to call themselves. */
  SelfCall: 'self_call',
  /** The meeting has ended: no joining, no media (REST 41001/410, meeting signaling 40901). */
  MeetingEnded: 'meeting_ended',
  /** The server is shutting down and accepts no new work. */
  Unavailable: 'unavailable',
  /** Anything unexpected; details are logged, never sent. */
  Internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each error code, used by the REST API. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  unknown_type: 400,
  frame_too_large: 413,
  rate_limited: 429,
  limit_exceeded: 429,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  not_in_call: 403,
  invalid_state: 409,
  not_in_room: 403,
  target_offline: 404,
  no_connection: 409,
  self_call: 400,
  meeting_ended: 410,
  unavailable: 503,
  internal: 500,
};

/** The wire form of an error, as every dialect receives it before its own mapping. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** The one error type that crosses a protocol boundary. */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }

  static badRequest(message: string, details?: Record<string, unknown>): AppError {
    return new AppError(ErrorCode.BadRequest, message, details);
  }
  static unknownType(type: string): AppError {
    return new AppError(ErrorCode.UnknownType, `unknown message type: ${type}`, { type });
  }
  static frameTooLarge(size: number, limit: number): AppError {
    return new AppError(ErrorCode.FrameTooLarge, `frame of ${size} bytes exceeds ${limit}`, {
      size,
      limit,
    });
  }
  /** An HTTP request body above the limit (REST 41301/413). */
  static bodyTooLarge(limit: number): AppError {
    return new AppError(ErrorCode.FrameTooLarge, `request body exceeds ${limit} bytes`, { limit });
  }
  static rateLimited(): AppError {
    return new AppError(ErrorCode.RateLimited, 'too many messages; slow down');
  }
  /** A per-user cap was reached: `limit` is its config key under `caps`, `max` its value. */
  static limitExceeded(message: string, limit: string, max: number): AppError {
    return new AppError(ErrorCode.LimitExceeded, message, { limit, max });
  }
  static unauthorized(message = 'authentication required'): AppError {
    return new AppError(ErrorCode.Unauthorized, message);
  }
  static forbidden(message: string): AppError {
    return new AppError(ErrorCode.Forbidden, message);
  }
  static notFound(what: string): AppError {
    return new AppError(ErrorCode.NotFound, `${what} not found`);
  }
  static notInCall(callId?: string): AppError {
    return new AppError(
      ErrorCode.NotInCall,
      'sender is not a party of this call',
      callId ? { callId } : undefined,
    );
  }
  static invalidState(message: string, details?: Record<string, unknown>): AppError {
    return new AppError(ErrorCode.InvalidState, message, details);
  }
  static notInRoom(): AppError {
    return new AppError(ErrorCode.NotInRoom, 'users are not in the same room');
  }
  static targetOffline(userId: string): AppError {
    return new AppError(ErrorCode.TargetOffline, 'target user is offline', { userId });
  }
  static noConnection(): AppError {
    return new AppError(ErrorCode.NoConnection, 'no matching offer for this answer or candidate');
  }
  static selfCall(): AppError {
    return new AppError(ErrorCode.SelfCall, 'cannot call yourself');
  }
  static meetingEnded(meetingId: string): AppError {
    return new AppError(ErrorCode.MeetingEnded, 'meeting has ended', { meetingId });
  }
  static unavailable(): AppError {
    return new AppError(ErrorCode.Unavailable, 'server is shutting down');
  }
  /** The database refused or could not be reached (locked, down, disk full): try again later. */
  static storeUnavailable(): AppError {
    return new AppError(ErrorCode.Unavailable, 'the store is unavailable; try again shortly');
  }
  /** Cluster mode: the node that owns the call, meeting or rooms did not answer in time. */
  static nodeUnreachable(nodeId: string): AppError {
    return new AppError(ErrorCode.Unavailable, 'the node that owns this did not answer', {
      nodeId,
    });
  }
  static internal(): AppError {
    return new AppError(ErrorCode.Internal, 'internal server error');
  }
}
