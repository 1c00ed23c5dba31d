import { extname } from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { type LoadSummary, loadContacts } from '../contacts/load.js';
import type { ContactStore } from '../store/types.js';
import { readCsv } from './csv.js';
import { CAN_READ_IN_WORKER, readCsvInWorker } from './read-in-worker.js';
import type { ReadResult } from './types.js';
import { readVcard } from './vcard.js';

export interface ImportOptions {
  readonly source: string;
  readonly files: readonly string[];
  /** Replace every contact of the source; otherwise rows update contacts with the same id. */
  readonly replace: boolean;
  readonly region: CountryCode;
  /** Worker threads that parse numbers; 0 parses on the calling thread. */
  readonly workers?: number;
  /** Told about each entry that was skipped, with its line number. */
  readonly onSkip?: (file: string, line: number, reason: string) => void;
  /** Told about each entry read (imported or skipped next), with its line number: the import's progress. */
  readonly onEntry?: (file: string, line: number) => void;
  /** Told about each entry imported with a doubt (an unknown country), with its line number. */
  readonly onWarning?: (file: string, line: number, message: string) => void;
}

export type ImportSummary = LoadSummary;

export function readerFor(file: string): (file: string) => AsyncGenerator<ReadResult> {
  const extension = extname(file).toLowerCase();
  return extension === '.vcf' || extension === '.vcard' ? readVcard : readCsv;
}

/** Imports CSV and vCard files into a source of the local index, in one transaction. */
export async function importFiles(store: ContactStore, options: ImportOptions): Promise<ImportSummary> {
  // With worker threads, a CSV file is read and its numbers parsed in a thread of its own: this
  // one only writes.
  const read = (file: string) =>
    (options.workers ?? 0) > 0 && CAN_READ_IN_WORKER && readerFor(file) === readCsv
      ? readCsvInWorker(file, options.region)
      : readerFor(file)(file);
  async function* entries() {
    for (const file of options.files) {
      for await (const entry of read(file)) {
        options.onEntry?.(file, entry.line);
        yield { ...entry, file };
      }
    }
  }
  return loadContacts(store, entries(), {
    source: options.source,
    replace: options.replace,
    region: options.region,
    ...(options.workers !== undefined && { workers: options.workers }),
    onSkip: (line, reason, file) => options.onSkip?.(file ?? '', line, reason),
    onWarning: (line, message, file) => options.onWarning?.(file ?? '', line, message),
  });
}
