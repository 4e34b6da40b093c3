/**
 * `@parley/bench`: the benchmarks behind `parley bench`, `bench-sfu`, `bench-conns` and
 * `bench-cluster`. The server's CLI imports this lazily, so the server's production code does
 * not contain it; the helpers the tests and scripts share are the subpaths `./children`,
 * `./browser`, `./dev-cli` and `./payloads`.
 */
export { runBench, type BenchOptions, type BenchResult } from './bench.ts';
export { runSfuBench } from './sfu.ts';
export { runConnsBench } from './conns.ts';
export { runClusterBench } from './cluster.ts';
