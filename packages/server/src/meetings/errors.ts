import { AppError, ErrorCode, type RtcResource } from '@parley/protocol';

/** A `not_found` about one kind of meeting resource (the meeting dialect maps it by kind). */
export function notFound(resource: RtcResource, id?: string): AppError {
  return new AppError(ErrorCode.NotFound, `${resource} not found`, {
    resource,
    ...(id === undefined ? {} : { id }),
  });
}

/**
 * A peer tried to resume a producer an administrator muted without allowing it back
 * (`forbidden`, `details.reason` `muted_by_admin`: a client tells it from other refusals).
 */
export function mutedByAdmin(producerId: string): AppError {
  return new AppError(ErrorCode.Forbidden, 'muted by an administrator', {
    reason: 'muted_by_admin',
    producerId,
  });
}
