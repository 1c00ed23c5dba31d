import type { LookupResult } from '../lookup/lookup.js';

/**
 * The CONNECTOR's recent lookups of one tenant, counted per minute in memory for the console's
 * overview (Prometheus counters only ever grow; this answers "how many in the last minutes").
 * Counts are this instance's, since it started.
 */
export interface LookupActivity {
  recordLookup(result: LookupResult, now?: number): void;
  /** The last `minutes` (at most an hour), up to `now`. */
  summary(minutes: number, now?: number): ActivitySummary;
  /** Calls `listener` after each lookup recorded (the console's live overview); answers the unsubscribe. */
  subscribe(listener: () => void): () => void;
}

export interface ActivitySummary {
  readonly lookups: number;
  /** Lookups that found at least one contact. */
  readonly hits: number;
  /** Lookups of a number that found nobody. */
  readonly misses: number;
  /** Lookups where a source failed or did not answer in time. */
  readonly errors: number;
  /** Epoch ms of the last lookup this instance answered, in any period. */
  readonly lastAt?: number;
}

const MINUTE = 60_000;
const KEPT_MINUTES = 60;

interface Bucket {
  minute: number;
  lookups: number;
  hits: number;
  misses: number;
  errors: number;
}

export function createLookupActivity(clock: () => number = Date.now): LookupActivity {
  // One bucket per minute, in a ring: a bucket whose minute is past is reused.
  const buckets: Bucket[] = Array.from({ length: KEPT_MINUTES }, () => ({
    minute: -1,
    lookups: 0,
    hits: 0,
    misses: 0,
    errors: 0,
  }));
  let lastAt: number | undefined;
  const listeners = new Set<() => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recordLookup(result, now = clock()) {
      const minute = Math.floor(now / MINUTE);
      const bucket = buckets[minute % KEPT_MINUTES]!;
      if (bucket.minute !== minute)
        Object.assign(bucket, { minute, lookups: 0, hits: 0, misses: 0, errors: 0 });
      bucket.lookups++;
      if (result.hits.length > 0) bucket.hits++;
      else if (result.key !== undefined) bucket.misses++;
      if (result.outcomes.some((outcome) => outcome.status !== 'ok')) bucket.errors++;
      lastAt = now;
      for (const listener of listeners) listener();
    },
    summary(minutes, now = clock()) {
      const newest = Math.floor(now / MINUTE);
      const oldest = newest - Math.min(minutes, KEPT_MINUTES) + 1;
      const total = { lookups: 0, hits: 0, misses: 0, errors: 0 };
      for (const bucket of buckets) {
        if (bucket.minute < oldest || bucket.minute > newest) continue;
        total.lookups += bucket.lookups;
        total.hits += bucket.hits;
        total.misses += bucket.misses;
        total.errors += bucket.errors;
      }
      return lastAt === undefined ? total : { ...total, lastAt };
    },
  };
}
