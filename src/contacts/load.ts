import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CountryCode } from 'libphonenumber-js';
import type { Piscina } from 'piscina';
import type { ContactRecord, ContactStore, SyncState } from '../store/types.js';
import buildBatch from './build-worker.js';
import type { Built, RawContact } from './raw-contact.js';

/** One entry to load: a contact not yet checked, or why the entry at that place was skipped. */
export type Entry = (
  | { readonly line: number; readonly raw: RawContact }
  | { readonly line: number; readonly error: string }
  // Already built where it was read (a reader in a thread of its own), with its change time.
  | { readonly line: number; readonly built: Built | string; readonly updatedAt?: number }
) & { readonly file?: string };

export interface LoadOptions {
  readonly source: string;
  /** Replace every contact of the source; otherwise entries update contacts with the same id. */
  readonly replace: boolean;
  readonly region: CountryCode;
  /** Worker threads that parse numbers in large loads (shared by every load of the process); 0 parses on the calling thread. */
  readonly workers?: number;
  /** Told about each entry that was skipped, with its place (line in a file, row in a listing). */
  readonly onSkip?: (line: number, reason: string, file?: string) => void;
  /** Told about each entry that was loaded with a doubt (an unknown country), with its place. */
  readonly onWarning?: (line: number, message: string, file?: string) => void;
  /** The source's sync state after this load, committed in the same transaction as its contacts. */
  readonly syncState?: (summary: LoadSummary) => SyncState;
}

export interface LoadSummary {
  readonly read: number;
  readonly imported: number;
  /** Contacts gone from the source: marked deleted, or (replacing) not in the entries any more. */
  readonly removed: number;
  readonly skipped: number;
  /** Contacts written in this load. */
  readonly contacts: number;
  /** Latest change time among the entries (epoch ms), for the next incremental sync. */
  readonly latestUpdate?: number;
}

const BATCH = 1000;

/** A contact of a batch built already. */
class Prebuilt {
  constructor(readonly built: Built | string) {}
}
/** Batches being parsed while earlier ones are written; bounds memory whatever the input's size. */
const IN_FLIGHT = 4;

type Build = (raws: RawContact[], region: CountryCode) => Promise<(Built | string)[]>;

// The compiled worker sits beside this module; run from TypeScript sources there is none.
const WORKER = fileURLToPath(new URL('./build-worker.js', import.meta.url));
const HAS_WORKER = existsSync(WORKER);
/** A batch this small is parsed on the calling thread in a few milliseconds: no thread for it. */
const SMALL_BATCH = 200;
/** Threads idle this long exit; the next large load starts them again. */
const IDLE_MS = 60_000;

/**
 * One pool for the process's life, made on the first large batch: starting threads for every load
 * (a mirror syncs every few seconds) costs CPU and memory, and a thread stopped while it still
 * loads its module can abort the whole process. Its size is the first caller's `workers`.
 */
let pool: Promise<Piscina> | undefined;

function builder(workers: number): Build {
  if (workers <= 0 || !HAS_WORKER) return async (raws, region) => buildBatch({ raws, region });
  return async (raws, region) => {
    if (raws.length < SMALL_BATCH) return buildBatch({ raws, region });
    // The thread pool's library is loaded with the first large batch: commands that only read never load it.
    pool ??= import('piscina').then(
      ({ Piscina }) =>
        new Piscina({ filename: WORKER, minThreads: 0, maxThreads: workers, idleTimeout: IDLE_MS }),
    );
    return (await pool).run({ raws, region });
  };
}

/**
 * Writes contacts into a source of the local index, in one transaction: a failure part-way leaves
 * the previous contacts untouched. Bad entries are reported and skipped; entries marked deleted are
 * removed. Reading, number parsing (in worker threads) and writing overlap; writes keep the order.
 */
export async function loadContacts(
  store: ContactStore,
  entries: AsyncIterable<Entry>,
  options: LoadOptions,
): Promise<LoadSummary> {
  const build = builder(options.workers ?? 0);
  const session = await store.beginImport(options.source, { replace: options.replace });
  let read = 0;
  let skipped = 0;
  /** Entries that mark a contact deleted. */
  let deleted = 0;
  let latestUpdate: number | undefined;
  const inFlight: Promise<void>[] = [];
  let writing = Promise.resolve();

  type Place = { line: number; file?: string };
  /** Builds the raw contacts of a batch; those built already stay as they are. */
  const buildAll = async (items: (RawContact | Prebuilt)[]): Promise<(Built | string)[]> => {
    const raws = items.filter((item): item is RawContact => !(item instanceof Prebuilt));
    if (raws.length === 0) return items.map((item) => (item as Prebuilt).built);
    const built = await build(raws, options.region);
    let next = 0;
    return items.map((item) => (item instanceof Prebuilt ? item.built : built[next++]!));
  };
  const flush = (places: Place[], raws: (RawContact | Prebuilt)[], deletions: string[]) => {
    const built = buildAll(raws);
    // Each batch is written after the one before it, as soon as its numbers are parsed.
    writing = Promise.all([built, writing]).then(async ([results]) => {
      const records: ContactRecord[] = [];
      results.forEach((result, index) => {
        const place = places[index]!;
        if (typeof result === 'string') {
          skipped++;
          options.onSkip?.(place.line, result, place.file);
          return;
        }
        if (result.warning) options.onWarning?.(place.line, result.warning, place.file);
        records.push(result.record);
      });
      await session.write(records);
      if (deletions.length > 0) await session.remove(deletions);
    });
    // Failures surface where the batch is awaited; until then they are not unhandled.
    writing.catch(() => {});
    return writing;
  };

  try {
    let places: Place[] = [];
    let raws: (RawContact | Prebuilt)[] = [];
    let deletions: string[] = [];
    for await (const entry of entries) {
      read++;
      if ('error' in entry) {
        skipped++;
        options.onSkip?.(entry.line, entry.error, entry.file);
        continue;
      }
      if ('built' in entry) {
        const { updatedAt } = entry;
        if (updatedAt !== undefined && (latestUpdate === undefined || updatedAt > latestUpdate)) {
          latestUpdate = updatedAt;
        }
        places.push(entry.file === undefined ? { line: entry.line } : { line: entry.line, file: entry.file });
        raws.push(new Prebuilt(entry.built));
        if (raws.length + deletions.length >= BATCH) {
          inFlight.push(flush(places, raws, deletions));
          places = [];
          raws = [];
          deletions = [];
          if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
        }
        continue;
      }
      const { raw } = entry;
      if (raw.updatedAt !== undefined && (latestUpdate === undefined || raw.updatedAt > latestUpdate)) {
        latestUpdate = raw.updatedAt;
      }
      if (raw.deleted) {
        deleted++;
        if (raw.id) deletions.push(raw.id);
        continue;
      }
      places.push(entry.file === undefined ? { line: entry.line } : { line: entry.line, file: entry.file });
      raws.push(raw);
      if (raws.length + deletions.length >= BATCH) {
        inFlight.push(flush(places, raws, deletions));
        places = [];
        raws = [];
        deletions = [];
        if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
      }
    }
    if (raws.length + deletions.length > 0) inFlight.push(flush(places, raws, deletions));
    await Promise.all(inFlight);
  } catch (error) {
    await writing.catch(() => {});
    await session.abort();
    throw error;
  }
  const summaryOf = ({ contacts, removed }: { contacts: number; removed: number }): LoadSummary => {
    const summary = { read, imported: read - skipped - deleted, removed, skipped, contacts };
    return latestUpdate === undefined ? summary : { ...summary, latestUpdate };
  };
  const { syncState } = options;
  return summaryOf(await session.commit(syncState && ((counts) => syncState(summaryOf(counts)))));
}
