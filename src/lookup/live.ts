import type { CountryCode } from 'libphonenumber-js';
import { LRUCache } from 'lru-cache';
import { buildContact, type RawContact } from '../contacts/raw-contact.js';
import type { MatchKey } from '../phone/index.js';
import type { CallOptions, SearchQuery, Source } from '../sources/types.js';
import type { ContactMatch } from '../store/types.js';

export interface Found {
  readonly matches: readonly ContactMatch[];
  /** Answered from the cache, without asking the source. */
  readonly cached?: boolean;
  /** What the source returned that was not kept, and why. */
  readonly dropped?: readonly { readonly id: string; readonly reason: string }[];
}

export type Finder = (query: SearchQuery, options: CallOptions) => Promise<Found>;

export interface LiveCacheOptions {
  /** How long a found answer is reused. */
  readonly ttlMs: number;
  /** How long "nobody has this number" is reused; shorter, so new contacts show soon. */
  readonly missTtlMs: number;
  /** Most numbers kept; the least recently used go first. */
  readonly maxEntries: number;
}

/**
 * Keeps what a live source returned only if one of the contact's numbers has exactly the key looked
 * up: a source's own search may be fuzzy (suffixes, LIKE), callcard's answer is not.
 */
export function recheck(contacts: readonly RawContact[], key: MatchKey, region: CountryCode): Found {
  const matches: ContactMatch[] = [];
  const dropped: { id: string; reason: string }[] = [];
  for (const contact of contacts) {
    // Read like any contact written to the index: numbers parsed in the contact's country.
    const built = buildContact(contact, region);
    if (typeof built === 'string') {
      dropped.push({ id: contact.id || '(none)', reason: built });
      continue;
    }
    const { record } = built;
    if (!contact.id) {
      dropped.push({ id: '(none)', reason: 'no id' });
      continue;
    }
    const position = record.phones.findIndex((phone) => phone.key === key);
    if (position < 0) {
      dropped.push({ id: record.id, reason: `no number equal to ${key}` });
      continue;
    }
    const { phones: _, ...fields } = record;
    matches.push({ ...fields, primary: position === 0 });
  }
  return dropped.length > 0 ? { matches, dropped } : { matches };
}

/** Asks a source during the lookup, through a bounded cache, and re-checks what it says. */
export function createLiveFinder(source: Source, region: CountryCode, cache: LiveCacheOptions): Finder {
  const search = source.search;
  if (!search) throw new Error(`source "${source.name}" cannot search numbers; use mode: mirror`);
  const answers = new LRUCache<MatchKey, readonly ContactMatch[]>({ max: cache.maxEntries });
  return async (query, options) => {
    const known = answers.get(query.key);
    if (known) return { matches: known, cached: true };
    const found = recheck(await search.call(source, query, options), query.key, region);
    const ttl = found.matches.length > 0 ? cache.ttlMs : cache.missTtlMs;
    // A TTL of 0 means "do not keep" (the cache library would read it as "keep forever").
    if (ttl > 0) answers.set(query.key, found.matches, { ttl });
    return found;
  };
}
