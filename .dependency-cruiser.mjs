// The server's folder structure (issue #14, DESIGN.md): core/ is a leaf of ports, folders do
// not import each other in a circle, only the composition root (app.ts) and the CLI may reach
// into cluster/, cluster/ holds adapters only (no domain's router lives there), and production
// code imports no test helper. `npm test` runs this (`npm run deps`).
const src = '^packages/server/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment: 'Folders of packages/server/src must not depend on each other in a circle.',
      severity: 'error',
      scope: 'folder',
      from: { path: src },
      to: { path: src, circular: true },
    },
    {
      // A folder holds its subfolders, so src/ itself cannot be in a folder cycle: its
      // top-level files (app.ts) are checked one by one.
      name: 'no-top-level-file-cycle',
      comment: 'A top-level file of packages/server/src must not be part of an import cycle.',
      severity: 'error',
      from: { path: `${src}[^/]+$` },
      to: { path: src, circular: true },
    },
    {
      name: 'core-is-a-leaf',
      comment: 'core/ holds the ports; it imports nothing of the server (protocol types only).',
      severity: 'error',
      from: { path: `${src}core/` },
      to: { path: src, pathNot: `${src}core/` },
    },
    {
      name: 'no-domain-imports-cluster',
      comment: 'cluster/ is adapters; domains get them as ports from app.ts, the one root.',
      severity: 'error',
      from: { path: src, pathNot: `${src}(app\\.ts$|index\\.ts$|cluster/|cli/)` },
      to: { path: `${src}cluster/` },
    },
    {
      // The build leaves tests and their helpers (`*.kit.ts`) out of dist/ (tsconfig.build.json),
      // but tsc would still compile a kit that production code imports.
      name: 'no-production-imports-test-kit',
      comment: 'Only tests and other kits import a test helper (*.kit.ts); dist/ holds none.',
      severity: 'error',
      from: { path: src, pathNot: '\\.(test|kit)\\.ts$' },
      to: { path: '\\.kit\\.ts$' },
    },
    {
      // The routers of the domains' bus messages (calls, meetings, presence, rooms, sessions,
      // admin) live in their domains, on the Bus/Placement/Requests ports of core/; app.ts
      // registers them. A cluster file that needs a domain is a router in the wrong place.
      name: 'cluster-is-adapters',
      comment: 'cluster/ implements core/ ports; it imports no domain (their routers are theirs).',
      severity: 'error',
      from: { path: `${src}cluster/` },
      to: { path: `${src}(admin|calls|meetings|presence|relay|rooms|webhooks|sfu|http)/` },
    },
  ],
  options: {
    // The structure of the shipped code. A unit test wires real adapters the way app.ts does
    // (a domain router's test runs on the in-process bus of cluster/), so tests are left out.
    exclude: { path: '\\.test\\.ts$' },
    // Only the server's own modules: packages and other workspaces are not its folders.
    includeOnly: src,
    tsPreCompilationDeps: true,
  },
};
