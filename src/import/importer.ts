import { extname } from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import type { ContactRecord, ContactStore } from '../store/types.js';
import { readCsv } from './csv.js';
import type { ReadResult } from './types.js';
import { readVcard } from './vcard.js';

export interface ImportOptions {
  readonly source: string;
  readonly files: readonly string[];
  /** Replace every contact of the source; otherwise rows update contacts with the same id. */
  readonly replace: boolean;
  readonly region: CountryCode;
  /** Told about each entry that was skipped, with its line number. */
  readonly onSkip?: (file: string, line: number, reason: string) => void;
}

export interface ImportSummary {
  readonly read: number;
  readonly imported: number;
  readonly skipped: number;
  readonly contacts: number;
}

const BATCH = 2000;

export function readerFor(file: string): (file: string, region: CountryCode) => AsyncGenerator<ReadResult> {
  const extension = extname(file).toLowerCase();
  return extension === '.vcf' || extension === '.vcard' ? readVcard : readCsv;
}

/**
 * Imports files into a source of the local index, in one transaction: a failure part-way leaves
 * the previous contacts untouched. Bad entries are reported and skipped.
 */
export async function importFiles(store: ContactStore, options: ImportOptions): Promise<ImportSummary> {
  const session = await store.beginImport(options.source, { replace: options.replace });
  let read = 0;
  let skipped = 0;
  let batch: ContactRecord[] = [];
  try {
    for (const file of options.files) {
      for await (const result of readerFor(file)(file, options.region)) {
        read++;
        if ('error' in result) {
          skipped++;
          options.onSkip?.(file, result.line, result.error);
          continue;
        }
        batch.push(result.record);
        if (batch.length >= BATCH) {
          await session.write(batch);
          batch = [];
        }
      }
    }
    await session.write(batch);
  } catch (error) {
    await session.abort();
    throw error;
  }
  const { contacts } = await session.commit();
  return { read, imported: read - skipped, skipped, contacts };
}
