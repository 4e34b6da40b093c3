import { useCluster } from '../harness.ts';

/** test/rooms.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../rooms.test.ts');
