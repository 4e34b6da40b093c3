import { useCluster } from '../harness.ts';

/** test/spec-chat-protobuf.test.ts with its clients spread over a three-node cluster behind nginx. */
useCluster();
await import('../spec-chat-protobuf.test.ts');
