import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { openTenantStore } from '../core/open-store.js';
import { importFiles } from '../import/importer.js';
import { isRegion } from '../phone/index.js';
import type { CommandIo } from './io.js';
import { loadTenant, type TenantOptions } from './load.js';

export interface ImportCommandOptions extends TenantOptions {
  readonly replace: boolean;
  readonly source?: string;
  readonly region?: string;
}

/** Most skipped entries listed one by one; the rest are counted. */
const MAX_LISTED = 50;

export async function importCommand(
  files: string[],
  options: ImportCommandOptions,
  io: CommandIo,
): Promise<void> {
  const { tenant: config } = loadTenant(options, io);
  const embedded = config.sources.filter((source) => source.type === 'embedded').map((source) => source.name);
  const source = options.source ?? embedded[0];
  if (!source || !embedded.includes(source)) {
    throw new Error(
      options.source
        ? `"${options.source}" is not an embedded source; configured: ${embedded.join(', ') || 'none'}`
        : 'no embedded source is configured: a `sources:` list replaces the default one; ' +
            'add `- type: embedded` to it to keep importing',
    );
  }
  const region = options.region?.toUpperCase() ?? config.region;
  if (!isRegion(region))
    throw new Error(`--region ${options.region}: not an ISO region code (CH, DE, AT...)`);
  // Files are read against the command's directory; messages name them as given.
  const given = new Map(files.map((file) => [resolve(io.cwd, file), file]));
  const named = (path: string) => given.get(path) ?? path;
  for (const file of files) {
    await access(resolve(io.cwd, file)).catch(() => {
      throw new Error(`${file}: cannot be read`);
    });
  }

  const store = await openTenantStore(config);
  const started = performance.now();
  let listed = 0;
  let warned = 0;
  try {
    const summary = await importFiles(store.contacts, {
      source,
      files: files.map((file) => resolve(io.cwd, file)),
      replace: options.replace,
      region,
      workers: Math.max(1, Math.min(4, availableParallelism())),
      onSkip(file, line, reason) {
        if (listed++ < MAX_LISTED) io.stderr.write(`${named(file)}:${line}: skipped: ${reason}\n`);
      },
      onWarning(file, line, message) {
        if (warned++ < MAX_LISTED) io.stderr.write(`${named(file)}:${line}: ${message}\n`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    if (summary.skipped > MAX_LISTED) {
      io.stderr.write(`... and ${summary.skipped - MAX_LISTED} more skipped entries\n`);
    }
    const rate = Math.round(summary.read / Math.max(seconds, 0.001));
    const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
    io.stdout.write(
      `imported ${summary.imported} of ${summary.read} entries into "${source}"` +
        `${options.replace ? ' (replacing all)' : ''}; ${summary.skipped} skipped; ` +
        `${await store.contacts.count(source)} contacts in the source; ` +
        `${seconds.toFixed(1)} s, ${rate} rows/s, peak RSS ${peakMb} MB\n`,
    );
  } finally {
    await store.close();
  }
}
