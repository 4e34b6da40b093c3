import { useCluster } from '../harness.ts';

/**
 * test/meetings-rtc.test.ts with its clients spread over a three-node cluster behind nginx, with
 * the cluster's default for meetings (`PARLEY_CLUSTER_MEETINGS_SPAN`; the forwarding path also
 * has its own copy, meetings-rtc-forwarded.test.ts, which stays when the default spans).
 */
useCluster();
await import('../meetings-rtc.test.ts');
