import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { RawContact } from '../contacts/raw-contact.js';
import type { ConnectionAuths } from '../net/auth.js';
import type { MatchKey } from '../phone/index.js';

/** What a live source is asked: one canonical key, and the number in the forms sources store. */
export interface SearchQuery {
  readonly key: MatchKey;
  /** The same number in other forms, for sources that search text: e164, digits, national... */
  readonly forms: NumberForms;
  readonly region: CountryCode;
  /** The most results the caller will use; a source may return fewer. */
  readonly limit: number;
}

export interface NumberForms {
  /** `+41215522000` */
  readonly e164: string;
  /** `41215522000` */
  readonly digits: string;
  /** `0215522000`, as dialled inside the country */
  readonly national: string;
  /** `+41 21 552 20 00` */
  readonly international: string;
}

export interface CallOptions {
  /** Aborted when the source's timeout or the lookup's deadline passes, or on shutdown. */
  readonly signal: AbortSignal;
}

/**
 * Thrown by `list` asked for changes it cannot give (its vendor forgot the sync state, a delta or sync
 * token expired, or no token was kept for a listing): the sync lists everything instead.
 */
export class FullListingNeeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FullListingNeeded';
  }
}

export interface ListOptions extends CallOptions {
  /** Only contacts changed after this (epoch ms); absent for a full listing. */
  readonly since?: number;
  /**
   * For an incremental listing of a source that keeps its own place in the changes: the tokens it
   * gave the last sync (`keepChangeTokens`), kept in the store with the contacts they led to.
   */
  readonly changeTokens?: Readonly<Record<string, string>>;
  /**
   * Told the source's new place in its changes (delta links, sync tokens, by listing) once the
   * listing has been read to its end: the sync keeps them with the contacts it commits.
   */
  readonly keepChangeTokens?: (tokens: Readonly<Record<string, string>>) => void;
}

/**
 * A place contacts are found. A source can do one or both:
 * - `list`: give all its contacts (or those changed since a time), to be mirrored into the local index;
 * - `search`: find a number exactly, fast enough to be asked while the phone rings.
 * Adapters only read; timeouts, cancellation, caching, re-checking results against the number,
 * ranking and the wire shape live once, in the core.
 */
export interface Source {
  readonly type: string;
  readonly name: string;
  /**
   * The source keeps its own place in the changes (a delta link, a sync token): an incremental
   * listing needs no updated-at cursor, `since` only says that changes are asked for.
   */
  readonly tracksChanges?: boolean;
  /** Batches of contacts, in the order the source gives them. */
  list?(options: ListOptions): AsyncIterable<readonly RawContact[]>;
  search?(query: SearchQuery, options: CallOptions): Promise<readonly RawContact[]>;
  /**
   * A cheap fingerprint of the source's contents (a file's size and time, an ETag): a mirror whose
   * fingerprint has not changed since its last sync is not listed again.
   */
  version?(options: CallOptions): Promise<string | undefined>;
  /** What is left of the vendor's request limits, as its last answer told (a cloud connector's). */
  budget?(): readonly SourceBudget[];
  /** Releases connections; safe to call more than once. */
  close?(): Promise<void>;
}

/** One of a vendor's request windows, as its answers' headers told it. */
export interface SourceBudget {
  /** `short`: a burst window of seconds or minutes; `daily`: a day's (or a rolling 24 hours') budget. */
  readonly window: 'short' | 'daily';
  readonly remaining: number;
  readonly limit?: number;
}

export interface SourceDeps {
  readonly logger: Logger;
  /** Directory of the config file, against which relative paths in a source's config are read. */
  readonly baseDir: string;
  /** The tenant's OAuth connections, for sources whose auth is oauth2Code. */
  readonly connections?: ConnectionAuths;
}
