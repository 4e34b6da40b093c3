import { useCluster } from '../harness.ts';

/** test/meetings-rtc.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../meetings-rtc.test.ts');
