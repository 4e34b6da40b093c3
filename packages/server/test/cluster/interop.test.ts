import { useCluster } from '../harness.ts';

/** test/interop.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../interop.test.ts');
