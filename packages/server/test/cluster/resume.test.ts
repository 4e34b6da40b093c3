import { useCluster } from '../harness.ts';

/** test/resume.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../resume.test.ts');
