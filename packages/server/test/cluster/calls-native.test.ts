import { useCluster } from '../harness.ts';

/** test/calls-native.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../calls-native.test.ts');
