import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import { incomingKey, type MatchKey, maskNumber } from '../phone/index.js';
import type { SearchQuery } from '../sources/types.js';
import type { ContactMatch } from '../store/types.js';
import { numberForms } from './forms.js';
import type { Finder, Found } from './live.js';

/** A source with what the core needs to ask it and present its contacts. */
export interface ConfiguredSource {
  readonly name: string;
  /** `embedded` and `mirror`: read from the local index; `live`: the source is asked. */
  readonly mode: 'embedded' | 'mirror' | 'live';
  readonly find: Finder;
  readonly crmName: string;
  readonly crmLogo?: string;
  readonly timeoutMs: number;
  /** Workflows that can run for this source's contacts (the contact card's crmActions). */
  readonly workflows: readonly string[];
}

export interface LookupHit {
  readonly match: ContactMatch;
  readonly from: ConfiguredSource;
}

export type SourceStatus = 'ok' | 'timeout' | 'error';

export interface SourceOutcome {
  readonly source: string;
  readonly mode: ConfiguredSource['mode'];
  readonly status: SourceStatus;
  readonly found: number;
  readonly ms: number;
  readonly cached?: boolean;
  readonly dropped?: readonly { readonly id: string; readonly reason: string }[];
  readonly error?: string;
}

export interface LookupResult {
  /** Canonical key looked up; absent for an empty or withheld number. */
  readonly key?: MatchKey;
  readonly hits: readonly LookupHit[];
  readonly outcomes: readonly SourceOutcome[];
}

export interface LookupOptions {
  readonly sources: readonly ConfiguredSource[];
  readonly region: CountryCode;
  readonly maxResults: number;
  /** The answer goes out by then, with what the sources that finished found. */
  readonly deadlineMs: number;
  readonly logger: Logger;
}

export type Lookup = (input: string) => Promise<LookupResult>;

class SourceTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'SourceTimeout';
  }
}

/**
 * Fans a number out to every source in parallel, each cut off at its own timeout or the overall
 * deadline, whichever comes first. A source that fails or is slow never fails the lookup: it is
 * logged and the answer carries what the others found.
 */
export function createLookup(options: LookupOptions): Lookup {
  const { sources, region, maxResults, deadlineMs, logger } = options;
  const priority = new Map(sources.map((entry, index) => [entry, index]));

  // The local index answers from this process's memory and disk: no timer, nothing to cut off.
  const local = new AbortController().signal;

  async function ask(entry: ConfiguredSource, query: SearchQuery) {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      let found: Found;
      if (entry.mode !== 'live') {
        found = await entry.find(query, { signal: local });
      } else {
        const limitMs = Math.min(entry.timeoutMs, deadlineMs);
        const controller = new AbortController();
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new SourceTimeout(limitMs);
            controller.abort(error);
            reject(error);
          }, limitMs);
        });
        found = await Promise.race([entry.find(query, { signal: controller.signal }), timeout]);
      }
      const report = {
        ...outcome(entry, 'ok', found.matches.length, started),
        ...(found.cached && { cached: true }),
        ...(found.dropped && { dropped: found.dropped }),
      };
      return { entry, found: found.matches, outcome: report };
    } catch (error) {
      const status = error instanceof SourceTimeout ? 'timeout' : 'error';
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(
        { source: entry.name, status, number: maskNumber(query.key), err: message },
        'source failed',
      );
      return { entry, found: [], outcome: outcome(entry, status, 0, started, message) };
    } finally {
      clearTimeout(timer);
    }
  }

  return async function lookup(input) {
    const key = incomingKey(input, region);
    if (key === undefined) return { hits: [], outcomes: [] };
    // The number's other forms are made only when a source reads them (live sources that search text).
    let forms: SearchQuery['forms'] | undefined;
    const query: SearchQuery = {
      key,
      get forms() {
        forms ??= numberForms(key);
        return forms;
      },
      region,
      limit: maxResults,
    };
    const answers = await Promise.all(sources.map((entry) => ask(entry, query)));
    const seen = new Set<string>();
    const hits: LookupHit[] = [];
    for (const { entry, found } of answers) {
      for (const match of found) {
        const identity = `${entry.name}\u0000${match.id}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
        hits.push({ match, from: entry });
      }
    }
    hits.sort(
      (a, b) =>
        Number(b.match.primary) - Number(a.match.primary) ||
        priority.get(a.from)! - priority.get(b.from)! ||
        (b.match.updatedAt ?? 0) - (a.match.updatedAt ?? 0),
    );
    return { key, hits: hits.slice(0, maxResults), outcomes: answers.map((answer) => answer.outcome) };
  };
}

function outcome(
  entry: ConfiguredSource,
  status: SourceStatus,
  found: number,
  started: number,
  error?: string,
): SourceOutcome {
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  const report = { source: entry.name, mode: entry.mode, status, found, ms };
  return error === undefined ? report : { ...report, error };
}
