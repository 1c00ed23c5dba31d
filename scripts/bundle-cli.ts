// Bundles the command line for a fast start: `dist/cli/index.js` (the `callcard` binary) and the
// chunks it imports, in `dist/chunks/`, replace ~350 separately loaded modules with a few files.
// Run after `tsc` by `npm run build`; tests run the sources, and `test/cli/bundle.test.ts` this build.
import { rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Packages compiled into the bundle: pure JavaScript read by every command that loads a config
 * (each is dozens of modules, and zod is tree-shaken). Every other package is imported as installed:
 * native modules, worker files and transports find their files where npm put them.
 */
export const INLINED = ['commander', 'zod', 'yaml', 'libphonenumber-js'] as const;

const packageName = (specifier: string) => /^(?:@[^/]+\/)?[^/]+/.exec(specifier)?.[0] ?? specifier;

/**
 * Bundles into `outDir` (a `dist/` folder): the entry `cli/index.js`, and in `chunks/` the code
 * split per command plus the contacts worker. Answers esbuild's metafile (inputs of each output).
 */
export async function bundleCli(outDir: string): Promise<Metafile> {
  await rm(join(outDir, 'chunks'), { recursive: true, force: true });
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [
      { in: 'src/cli/index.ts', out: 'cli/index' },
      // Started by path as a worker thread, beside the module that starts it (contacts/load.ts).
      { in: 'src/contacts/build-worker.ts', out: 'chunks/build-worker' },
      // Started by path as a worker thread, beside the module that starts it (import/read-in-worker.ts).
      { in: 'src/import/read-worker.ts', out: 'chunks/read-worker' },
    ],
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    // The CommonJS packages compiled in (commander, yaml) call require for Node's own modules.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'installed-packages',
        setup(bundler) {
          bundler.onResolve({ filter: /^[^./]/ }, ({ path }) =>
            (INLINED as readonly string[]).includes(packageName(path)) ? undefined : { path, external: true },
          );
        },
      },
    ],
  });
  checkLayout(metafile, outDir);
  return metafile;
}

/**
 * Modules that find files relative to their own URL must sit where the paths still hold: the
 * contacts loader beside its worker, the OpenAPI routes two folders below the package (package.json).
 */
function checkLayout(metafile: Metafile, outDir: string): void {
  const outputOf = (input: string) => {
    const found = Object.entries(metafile.outputs).find(([, output]) => input in output.inputs);
    if (!found) throw new Error(`bundle: ${input} is in no output`);
    return resolve(ROOT, found[0]);
  };
  const worker = resolve(outDir, 'chunks/build-worker.js');
  if (dirname(outputOf('src/contacts/load.ts')) !== dirname(worker)) {
    throw new Error('bundle: contacts/load.ts is not beside its worker');
  }
  if (dirname(outputOf('src/import/read-in-worker.ts')) !== dirname(worker)) {
    throw new Error('bundle: import/read-in-worker.ts is not beside its worker');
  }
  const depth = relative(outDir, dirname(outputOf('src/http/openapi.ts'))).split('/').length;
  if (depth !== 1) throw new Error('bundle: http/openapi.ts is not one folder below dist/');
}

if (process.argv[1] === import.meta.filename) {
  await bundleCli(join(ROOT, 'dist'));
}
