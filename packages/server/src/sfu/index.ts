export {
  SfuPool,
  type SfuPoolOptions,
  type SfuRouter,
  type TransportRequest,
  type WorkerInfo,
} from './pool.ts';
export { pipeLocally, type LocalPipe } from './local-pipe.ts';
export {
  PipeLink,
  type PipeEndpoint,
  type PipedDataProducer,
  type PipedProducer,
} from './pipe-link.ts';
export { clientOp } from './errors.ts';
export type * from './types.ts';
