import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { importFiles } from '../../src/import/importer.js';
import { createLogger } from '../../src/logging.js';
import { createService, type ServedTenant, type Service, type ServiceOptions } from '../../src/main.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { 'x-execution-token': TOKEN } as const;

/** The service, with its first (usually only) tenant's parts at hand. */
export interface TestService extends Omit<ServedTenant, 'close'>, Service {
  readonly dataDir: string;
  /** Loads CSV text into the embedded source (of the first tenant, or the one named). */
  importCsv(csv: string, options?: { replace?: boolean; source?: string; tenant?: string }): Promise<void>;
}

/** A temporary data directory, removed after the test. */
export function tempDir(prefix = 'callcard-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The whole service on a fresh data directory, ready for `app.inject()`. */
export async function build(
  config: ConfigInput = {},
  logLines?: string[],
  options: Omit<ServiceOptions, 'logger'> = {},
): Promise<TestService> {
  const dir = tempDir();
  const loaded = loadConfig({
    env: {},
    overrides: {
      dataDir: dir.path,
      // Several tenants bring their own tokens; one gets the test token unless the test sets its own.
      ...(config.tenants === undefined && { auth: { tokens: [TOKEN] } }),
      log: { level: 'info' },
      ...config,
    },
  });
  // The service's own logger, redaction included, writing into the test's lines.
  const logger = createLogger(loaded, {
    destination: { write: (line: string) => void logLines?.push(line) },
  });
  const service = await createService(loaded, { ...options, logger });
  const first = service.tenants[0]!;
  let n = 0;
  return {
    ...first,
    ...service,
    dataDir: dir.path,
    async importCsv(csv, options = {}) {
      const tenant = service.tenants.find((entry) => entry.tenant.name === options.tenant) ?? first;
      const file = join(dir.path, `import-${++n}.csv`);
      writeFileSync(file, csv);
      await importFiles(tenant.store.contacts, {
        source: options.source ?? 'contacts',
        files: [file],
        replace: options.replace ?? false,
        region: tenant.tenant.region,
      });
    },
    async close() {
      await service.close();
      dir.remove();
    },
  };
}

/** True when the test runs in CI, where a missing service is a failure rather than a skip. */
export const inCI = process.env['CI'] === 'true';

/**
 * How `promise` settled: with its value, or with its error. Fails, naming `what`, when it has not
 * settled within `ms`: a guard that turns a hang into a clear failure, not a measure of speed.
 */
export async function settled<T>(
  promise: Promise<T>,
  what: string,
  ms = 10_000,
): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The one ```yaml example of a documentation page (`docs/sources.md`...) that contains `text`. */
export function docExample(page: string, text: string): string {
  const markdown = readFileSync(resolve(import.meta.dirname, '../..', page), 'utf8');
  const found = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .filter((block) => block.includes(text));
  if (found.length !== 1) throw new Error(`${page}: ${found.length} yaml examples contain ${text}`);
  return found[0]!;
}
