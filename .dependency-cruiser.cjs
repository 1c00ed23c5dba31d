/**
 * The layering of src/, as the README and each folder's README describe it. `npm run lint` fails on a
 * rule marked error; warnings are printed and listed in the folder README's "what it may import".
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other in a circle: move what both need into a module below them.',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Nothing imports the command line.',
      from: { path: '^src', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'wiring-only-from-cli',
      severity: 'error',
      comment: 'The composition root (main.ts: the service, with served-tenants.ts, served-consoles.ts, service-metrics.ts, service-apps.ts, rotation.ts, tenants-reload.ts and readiness.ts; core/: one tenant without HTTP) is used by the commands only.',
      from: { path: '^src', pathNot: '^src/(cli/|main\\.ts$|core/|readiness\\.ts$|served-tenants\\.ts$|served-consoles\\.ts$|service-metrics\\.ts$|service-apps\\.ts$|rotation\\.ts$|tenants-reload\\.ts$)' },
      to: { path: '^src/(main\\.ts|core/|served-tenants\\.ts|served-consoles\\.ts|service-metrics\\.ts|service-apps\\.ts)' },
    },
    {
      name: 'core-without-http',
      severity: 'error',
      comment: 'The core (lookup, sync, store, sources, workflows, contacts, phone...) imports no HTTP server.',
      from: { path: ['^src/(core|lookup|sync|store|sources|workflows|contacts|connector|phone|import|config|metrics)/', '^src/(logging|tls)\\.ts$'] },
      to: { path: ['^src/http/', 'node_modules/fastify/'] },
    },
    {
      name: 'phone-stands-alone',
      severity: 'error',
      comment: 'Number reading is the ground floor: it imports nothing of callcard.',
      from: { path: '^src/phone/' },
      to: { path: '^src/', pathNot: '^src/phone/' },
    },
    {
      name: 'checker-from-outside',
      severity: 'error',
      comment: 'The conformance checker judges a service from the outside: no server-side module.',
      from: { path: '^src/check/' },
      to: { path: '^src/', pathNot: '^src/(check/|errors\\.ts$)' },
    },
    {
      name: 'adapters-import-only-what-they-need',
      severity: 'error',
      comment: 'A source adapter imports the source types and shared helpers, never the core above it.',
      from: { path: '^src/sources/' },
      to: { path: '^src/(http|lookup|sync|workflows|cli|metrics|store/sqlite|core)/|^src/main\\.ts$' },
    },
    {
      name: 'adapters-apart',
      severity: 'error',
      comment: 'One source adapter does not reach into another: share through a module below both.',
      from: { path: '^src/sources/([^/]+)/' },
      to: { path: '^src/sources/([^/]+)/', pathNot: '^src/sources/$1/' },
    },
    {
      name: 'store-below-its-users',
      severity: 'error',
      comment: 'The store keeps data; it does not know lookups, sources, HTTP or workflow logic.',
      from: { path: '^src/store/' },
      to: { path: '^src/(lookup|sync|sources|http|cli|metrics|import|connector|workflows|core|console)/|^src/main\\.ts$' },
    },
    {
      name: 'workflows-not-into-sources',
      severity: 'error',
      comment: 'Workflow actions share outbound HTTP, SQL clients and secrets with sources through common modules, not through a source adapter.',
      from: { path: '^src/workflows/' },
      to: { path: '^src/sources/[^/]+/' },
    },
    {
      name: 'plumbing-below-its-users',
      severity: 'error',
      comment: 'Shared plumbing (outbound HTTP, SQL clients, helpers) serves sources and workflows; it knows neither.',
      from: { path: '^src/(net|sql|util)/' },
      to: { path: '^src/(sources|workflows|lookup|sync|http|cli|store|metrics|import|contacts|connector)/|^src/main\\.ts$' },
    },
    {
      name: 'oauth-below-its-users',
      severity: 'error',
      comment: 'OAuth connections serve sources and actions through the Auth interface; they know neither, nor the store behind its interface.',
      from: { path: '^src/oauth/' },
      to: { path: '^src/(sources|workflows|lookup|sync|http|cli|metrics|import|contacts|connector|core|store/sqlite)/|^src/main\\.ts$' },
    },
    {
      name: 'util-stands-alone',
      severity: 'error',
      comment: 'The small helpers import nothing of callcard but each other.',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'console-through-interfaces',
      severity: 'error',
      comment: 'The web console reads and changes through the store interfaces, the lookup and the config: never a source adapter, the SQLite store, the wiring, the HTTP app or the command line.',
      from: { path: '^src/console/' },
      to: { path: '^src/(sources|store/sqlite|core|cli|http|sync|workflows|import)/|^src/main\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
