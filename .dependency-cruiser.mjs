// The server's folder structure (issue #14, DESIGN.md): core/ is a leaf of ports, folders do
// not import each other in a circle, only the composition root (app.ts) and the CLI may reach
// into cluster/, and production code imports no test helper. `npm test` runs this
// (`npm run deps`).
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
  ],
  options: {
    // Only the server's own modules: packages and other workspaces are not its folders.
    includeOnly: src,
    tsPreCompilationDeps: true,
  },
};
