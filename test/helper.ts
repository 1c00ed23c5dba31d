import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/load.js';
import type { ConfigInput } from '../src/config/schema.js';
import { importFiles } from '../src/import/importer.js';
import { type CoreOptions, createService, type Service } from '../src/main.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { 'x-execution-token': TOKEN } as const;

export interface TestService extends Service {
  readonly dataDir: string;
  /** Loads CSV text into the embedded source. */
  importCsv(csv: string, options?: { replace?: boolean; source?: string }): Promise<void>;
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
  options: Omit<CoreOptions, 'logger'> = {},
): Promise<TestService> {
  const dir = tempDir();
  const loaded = loadConfig({
    env: {},
    overrides: { dataDir: dir.path, auth: { tokens: [TOKEN] }, log: { level: 'info' }, ...config },
  });
  const logger = pino({ level: loaded.log.level }, { write: (line: string) => void logLines?.push(line) });
  const service = await createService(loaded, { ...options, logger });
  let n = 0;
  return {
    ...service,
    dataDir: dir.path,
    async importCsv(csv, options = {}) {
      const file = join(dir.path, `import-${++n}.csv`);
      writeFileSync(file, csv);
      await importFiles(service.store.contacts, {
        source: options.source ?? 'contacts',
        files: [file],
        replace: options.replace ?? false,
        region: loaded.region,
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
