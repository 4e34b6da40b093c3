import { useCluster } from '../harness.ts';

/**
 * test/meetings-rtc.test.ts over a three-node cluster behind nginx with meetings that do not
 * span the nodes (`PARLEY_CLUSTER_MEETINGS_SPAN=0`): each meeting's media room lives on one
 * node, and the other nodes forward its peers' rtc:* requests there.
 */
useCluster({ meetingsSpan: false });
await import('../meetings-rtc.test.ts');
