import { AppError } from '@parley/protocol';

/**
 * Runs a mediasoup operation on parameters a client supplied. mediasoup refuses bad parameters
 * with TypeError, UnsupportedError or a plain Error from the worker; those become bad_request
 * with mediasoup's reason. InvalidStateError (a closed object, a dead worker's channel) is the
 * server's problem and stays an internal error.
 */
export async function clientOp<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof AppError || !(err instanceof Error) || err.name === 'InvalidStateError') {
      throw err;
    }
    throw AppError.badRequest(`rejected by the SFU: ${err.message}`);
  }
}
