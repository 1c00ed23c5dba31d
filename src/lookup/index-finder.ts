import type { ContactStore } from '../store/types.js';
import type { Finder } from './live.js';

/** Reads a source's contacts from the local index: embedded and mirrored sources. */
export function createIndexFinder(store: ContactStore, source: string): Finder {
  return async (query) => ({ matches: await store.findByKey(source, query.key, query.limit) });
}
