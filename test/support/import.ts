import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { afterEach, beforeEach } from 'vitest';
import { type ImportSummary, importFiles, readerFor } from '../../src/import/importer.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ContactMatch, Store } from '../../src/store/types.js';
import { tempDir } from './helper.js';

export const SOURCE = 'contacts';

export interface Skip {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface ImportRun {
  readonly summary: ImportSummary;
  readonly skips: Skip[];
  /** Entries imported with a doubt (an unknown country), as `line: message`. */
  readonly warnings: string[];
}

export interface ImportContext {
  /** Directory of the test's files. */
  readonly dir: string;
  readonly store: Store;
  /** Writes a file into the temp dir and returns its path. */
  write(name: string, text: string): string;
  run(
    files: string | readonly string[],
    options?: { replace?: boolean; region?: CountryCode; source?: string },
  ): Promise<ImportRun>;
  find(key: string, source?: string): Promise<ContactMatch[]>;
  count(source?: string): Promise<number>;
}

/** A fresh temp dir and SQLite store for every test, closed and removed afterwards. */
export function useImportContext(): ImportContext {
  let dir: ReturnType<typeof tempDir> | undefined;
  let store: Store | undefined;

  beforeEach(() => {
    dir = tempDir('callcard-import-');
    store = openSqliteStore(join(dir.path, 'data'));
  });
  afterEach(async () => {
    await store?.close();
    dir?.remove();
    store = undefined;
    dir = undefined;
  });

  const current = () => {
    if (!dir || !store) throw new Error('import context used outside a test');
    return { dir, store };
  };

  return {
    get dir() {
      return current().dir.path;
    },
    get store() {
      return current().store;
    },
    write(name, text) {
      const file = join(current().dir.path, name);
      writeFileSync(file, text);
      return file;
    },
    async run(files, options = {}) {
      const skips: Skip[] = [];
      const warnings: string[] = [];
      const summary = await importFiles(current().store.contacts, {
        source: options.source ?? SOURCE,
        files: typeof files === 'string' ? [files] : files,
        replace: options.replace ?? false,
        region: options.region ?? 'CH',
        onSkip: (file, line, reason) => skips.push({ file, line, reason }),
        onWarning: (_file, line, message) => warnings.push(`${line}: ${message}`),
      });
      // Entries that fail while read and entries that fail while built may be told in either order.
      const order = typeof files === 'string' ? [files] : files;
      skips.sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file) || a.line - b.line);
      return { summary, skips, warnings };
    },
    find(key, source = SOURCE) {
      return current().store.contacts.findByKey(source, key, 5);
    },
    count(source = SOURCE) {
      return current().store.contacts.count(source);
    },
  };
}

type LabelledEntry = { phones?: readonly { label?: string }[] };

/**
 * The label of each number, per entry, as the file's reader reports it. The store does not return
 * labels, so they are read here; only the labels are looked at, not the shape of the reader's entries.
 */
export async function phoneLabels(file: string): Promise<(string | undefined)[][]> {
  const reader = readerFor(file) as unknown as (file: string, region: string) => AsyncIterable<unknown>;
  const out: (string | undefined)[][] = [];
  for await (const entry of reader(file, 'CH')) {
    const { record, raw } = entry as { record?: LabelledEntry; raw?: LabelledEntry };
    const phones = record?.phones ?? raw?.phones;
    if (phones) out.push(phones.map((phone) => phone.label));
  }
  return out;
}

/** Lines joined with "\n" and a final new line. */
export function lines(...rows: string[]): string {
  return `${rows.join('\n')}\n`;
}
