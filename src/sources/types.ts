import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { MatchKey } from '../phone/index.js';
import type { ContactMatch, ContactStore } from '../store/types.js';

/** What a source is asked: one canonical key, with the number as received for sources that search text. */
export interface LookupQuery {
  readonly key: MatchKey;
  readonly input: string;
  readonly region: CountryCode;
  /** The most results the caller will use; a source may return fewer. */
  readonly limit: number;
}

export interface LookupOptions {
  /** Aborted when the source's timeout or the lookup's deadline passes. */
  readonly signal: AbortSignal;
}

export interface SourceCapabilities {
  /** Answers lookups from the local index (microseconds, no I/O beyond it). */
  readonly local: boolean;
}

/**
 * A place contacts are found. Adapters only find; timeouts, cancellation, logging, ranking and
 * the CONNECTOR's wire shape live once, in the lookup core.
 */
export interface Source {
  readonly type: string;
  readonly name: string;
  readonly capabilities: SourceCapabilities;
  lookup(query: LookupQuery, options: LookupOptions): Promise<ContactMatch[]>;
  /** Number of contacts the source holds, when it can tell cheaply. */
  count?(): Promise<number>;
  /** Releases connections; safe to call more than once. */
  close?(): Promise<void>;
}

export interface SourceDeps {
  readonly store: ContactStore;
  readonly logger: Logger;
}
