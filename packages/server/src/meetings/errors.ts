import { AppError, ErrorCode, type RtcResource } from '@parley/protocol';

/** A `not_found` about one kind of meeting resource (the meeting dialect maps it by kind). */
export function notFound(resource: RtcResource, id?: string): AppError {
  return new AppError(ErrorCode.NotFound, `${resource} not found`, {
    resource,
    ...(id === undefined ? {} : { id }),
  });
}
