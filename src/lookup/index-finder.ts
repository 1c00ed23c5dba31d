import { LRUCache } from 'lru-cache';
import type { ContactMatch, ContactStore } from '../store/types.js';
import type { Finder } from './live.js';

/**
 * The instance's copy of the index's recent answers, used only when the store does not answer in
 * time: while a shared store restarts or fails over, a number looked up before still gets its card.
 */
export interface IndexFallback {
  /** Most numbers kept per source. */
  readonly max: number;
  /** An answer older than this is not used. */
  readonly maxAgeMs: number;
  /** How long the store gets, when an earlier answer is at hand, before that answer is used. */
  readonly afterMs: number;
}

/**
 * Reads a source's contacts from the local index: embedded and mirrored sources. With `fallback`,
 * every answer the store gives is kept (in memory, per instance); when the store fails, or has not
 * answered within `afterMs`, the number's last answer stands in for it (at most `maxAgeMs` old).
 * A number with no answer kept fails as the store does.
 */
export function createIndexFinder(store: ContactStore, source: string, fallback?: IndexFallback): Finder {
  const kept = fallback
    ? new LRUCache<string, ContactMatch[]>({ max: fallback.max, ttl: fallback.maxAgeMs })
    : undefined;
  return async (query, { signal }) => {
    // A read cannot be cut short: a lookup already given up is not begun.
    signal.throwIfAborted();
    const cacheKey = `${query.limit}\u001f${query.key}`;
    const read = store.findByKey(source, query.key, query.limit);
    if (!kept || !fallback) return { matches: await read };
    const earlier = kept.get(cacheKey);
    const fresh = read.then((matches) => {
      kept.set(cacheKey, matches);
      return { matches };
    });
    if (!earlier) return fresh;
    return new Promise((resolve) => {
      const useEarlier = () => resolve({ matches: earlier });
      const timer = setTimeout(useEarlier, fallback.afterMs);
      fresh.then(resolve, useEarlier).finally(() => clearTimeout(timer));
    });
  };
}
