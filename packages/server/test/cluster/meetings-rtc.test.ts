import { useCluster } from '../harness.ts';

/**
 * test/meetings-rtc.test.ts with its clients spread over a three-node cluster behind nginx: a
 * meeting spans the nodes (the default), each peer served by its own node's router.
 */
useCluster();
await import('../meetings-rtc.test.ts');
