import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CountryCode } from 'libphonenumber-js';
import { Piscina } from 'piscina';
import type { ContactRecord, ContactStore } from '../store/types.js';
import buildBatch from './build-worker.js';
import type { RawContact } from './contact-builder.js';
import { readCsv } from './csv.js';
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
}

export interface ImportSummary {
  readonly read: number;
  readonly imported: number;
  readonly skipped: number;
  readonly contacts: number;
}

const BATCH = 1000;
/** Batches being parsed while earlier ones are written; bounds memory whatever the file size. */
const IN_FLIGHT = 4;

type Build = (raws: RawContact[], region: CountryCode) => Promise<(ContactRecord | string)[]>;

export function readerFor(file: string): (file: string) => AsyncGenerator<ReadResult> {
  const extension = extname(file).toLowerCase();
  return extension === '.vcf' || extension === '.vcard' ? readVcard : readCsv;
}

// The compiled worker sits beside this module; run from TypeScript sources there is none.
const WORKER = fileURLToPath(new URL('./build-worker.js', import.meta.url));

function builder(workers: number): { build: Build; close(): Promise<void> } {
  if (workers <= 0 || !existsSync(WORKER)) {
    return { build: async (raws, region) => buildBatch({ raws, region }), close: async () => {} };
  }
  const pool = new Piscina({ filename: WORKER, minThreads: workers, maxThreads: workers });
  return { build: (raws, region) => pool.run({ raws, region }), close: () => pool.destroy() };
}

/**
 * Imports files into a source of the local index, in one transaction: a failure part-way leaves
 * the previous contacts untouched. Bad entries are reported and skipped. Reading, number parsing
 * (in worker threads) and writing overlap; writes keep the files' order.
 */
export async function importFiles(store: ContactStore, options: ImportOptions): Promise<ImportSummary> {
  const { build, close } = builder(options.workers ?? 0);
  const session = await store.beginImport(options.source, { replace: options.replace });
  let read = 0;
  let skipped = 0;
  const inFlight: Promise<void>[] = [];
  let writing = Promise.resolve();

  const flush = (file: string, lines: number[], raws: RawContact[]) => {
    const built = build(raws, options.region);
    // Each batch is written after the one before it, as soon as its numbers are parsed.
    writing = Promise.all([built, writing]).then(async ([results]) => {
      const records: ContactRecord[] = [];
      results.forEach((result, index) => {
        if (typeof result === 'string') {
          skipped++;
          options.onSkip?.(file, lines[index]!, result);
        } else records.push(result);
      });
      await session.write(records);
    });
    // Failures surface where the batch is awaited; until then they are not unhandled.
    writing.catch(() => {});
    return writing;
  };

  try {
    for (const file of options.files) {
      let lines: number[] = [];
      let raws: RawContact[] = [];
      for await (const result of readerFor(file)(file)) {
        read++;
        if ('error' in result) {
          skipped++;
          options.onSkip?.(file, result.line, result.error);
          continue;
        }
        lines.push(result.line);
        raws.push(result.raw);
        if (raws.length >= BATCH) {
          inFlight.push(flush(file, lines, raws));
          lines = [];
          raws = [];
          if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
        }
      }
      if (raws.length > 0) inFlight.push(flush(file, lines, raws));
    }
    await Promise.all(inFlight);
  } catch (error) {
    await writing.catch(() => {});
    await session.abort();
    throw error;
  } finally {
    await close();
  }
  const { contacts } = await session.commit();
  return { read, imported: read - skipped, skipped, contacts };
}
