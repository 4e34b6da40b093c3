import { useCluster } from '../harness.ts';

/** test/call-metrics.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../call-metrics.test.ts');
