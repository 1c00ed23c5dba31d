import type { ContactStore } from '../store/types.js';
import type { Finder } from './live.js';

/** Reads a source's contacts from the local index: embedded and mirrored sources. */
export function createIndexFinder(store: ContactStore, source: string): Finder {
  return async (query, { signal }) => {
    // A read takes microseconds and cannot be cut short: a lookup already given up is not begun.
    signal.throwIfAborted();
    return { matches: await store.findByKey(source, query.key, query.limit) };
  };
}
