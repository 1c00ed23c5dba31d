import { parentPort, workerData } from 'node:worker_threads';
import type { CountryCode } from 'libphonenumber-js';
import { type Built, buildContact, type RawContact } from '../contacts/raw-contact.js';
import { readCsv } from './csv.js';

/**
 * Reads a CSV file and parses its numbers in a thread of its own (started by `read-in-worker.ts`):
 * the thread that writes the contacts then only writes. Entries go back in batches, a few ahead of
 * the writer at most (it asks for each next one), so memory does not grow with the file.
 */

/** One entry as read and built: why it was skipped, a contact marked deleted, or the contact built. */
export type ReadItem =
  | { readonly line: number; readonly error: string }
  | { readonly line: number; readonly raw: RawContact }
  | { readonly line: number; readonly built: Built | string; readonly updatedAt?: number };

/** What the thread posts: a batch of entries, the end, or why it stopped. */
export type ReadMessage = { items: ReadItem[] } | { done: true } | { failed: string };

export interface ReadJob {
  readonly file: string;
  readonly region: CountryCode;
  /** Batches posted before the reader asks for more. */
  readonly ahead: number;
}

const BATCH = 1000;

async function run(port: NonNullable<typeof parentPort>, { file, region, ahead }: ReadJob) {
  let credit = ahead;
  let wake: (() => void) | undefined;
  port.on('message', () => {
    credit++;
    wake?.();
  });
  let items: ReadItem[] = [];
  const post = async () => {
    while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    port.postMessage({ items } satisfies ReadMessage);
    items = [];
  };
  try {
    for await (const entry of readCsv(file)) {
      if ('error' in entry) items.push(entry);
      else if (entry.raw.deleted) items.push(entry);
      else {
        const built = buildContact(entry.raw, region);
        const { updatedAt } = entry.raw;
        items.push(
          updatedAt === undefined ? { line: entry.line, built } : { line: entry.line, built, updatedAt },
        );
      }
      if (items.length >= BATCH) await post();
    }
    if (items.length > 0) await post();
    port.postMessage({ done: true } satisfies ReadMessage);
  } catch (error) {
    port.postMessage({
      failed: error instanceof Error ? error.message : String(error),
    } satisfies ReadMessage);
  }
  port.close();
}

if (parentPort) await run(parentPort, workerData as ReadJob);
