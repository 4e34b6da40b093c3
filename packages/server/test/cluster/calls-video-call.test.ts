import { useCluster } from '../harness.ts';

/** test/calls-video-call.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../calls-video-call.test.ts');
