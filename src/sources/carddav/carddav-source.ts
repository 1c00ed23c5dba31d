import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawContact } from '../../contacts/raw-contact.js';
import { createCalls } from '../calls.js';
import type { CallOptions, ListOptions, Source, SourceDeps } from '../types.js';
import { type AddressBook, createAddressBooks } from './address-books.js';
import { authHeaders, type CarddavAuth } from './auth.js';
import { type Card, type CardResult, readCards } from './cards.js';
import { createDav, type Dav, type DavEntry, pathKey, propText, sameResource, urlLabel } from './dav.js';
import { DEFAULT_TIMEOUT_MS, type URI_VARIABLES } from './schema.js';

export { carddavSourceSchema } from './schema.js';

/** vCards asked per addressbook-multiget request, and so contacts per batch handed to the sync. */
const MULTIGET = 100;
/** Skipped vCards logged one by one per listing; the rest are counted. */
const LOGGED_SKIPS = 20;

export interface CarddavSourceConfig {
  readonly name: string;
  readonly url: string;
  readonly addressBooks?: readonly string[] | undefined;
  readonly auth?: CarddavAuth | undefined;
  readonly contactUri?: string | undefined;
  readonly requestTimeoutMs?: number | undefined;
}

export interface CarddavSourceOptions {
  /** Where requests go; tests pass one that watches them. */
  readonly fetch?: typeof fetch;
  /** Where `passwordEnv` and `tokenEnv` are read. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A vCard resource: where it is, and its ETag when the server gave one. */
interface Resource {
  readonly url: string;
  readonly etag?: string;
}

/** What a vCard gave at the last listing, kept to skip fetching it again while its ETag is the same. */
interface Known {
  readonly etag: string;
  readonly result: CardResult;
}

const isCollection = (props: Readonly<Record<string, unknown>>) => {
  const type = props['resourcetype'];
  return typeof type === 'object' && type !== null && 'collection' in type;
};

const ok = (entry: DavEntry) => entry.status >= 200 && entry.status < 300;

/** The href sent back in a multiget: the path (and query) of the resource's URL. */
const hrefOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * The CardDAV source. Every listing is a full one: callcard's incremental syncs ask for changes
 * since a time, which CardDAV cannot answer (sync-collection, RFC 6578, works with tokens, and a
 * vCard's REV is optional and set by the client). Instead the sync is cheap: `version` is the
 * address books' sync-tokens (or getctags), so an unchanged server is not listed at all, and a
 * listing fetches again only the vCards whose ETag changed since the last one.
 */
export function createCarddavSource(
  config: CarddavSourceConfig,
  deps: SourceDeps,
  options: CarddavSourceOptions = {},
): Source {
  const { name } = config;
  const { logger } = deps;
  const headers = authHeaders(config.auth, { baseDir: deps.baseDir, env: options.env ?? process.env });
  const dav: Dav = createDav({
    headers,
    timeoutMs: config.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    fetch: options.fetch ?? globalThis.fetch,
  });
  const addressBooks = createAddressBooks(dav, config.url, config.addressBooks);
  const contactUri = config.contactUri;

  const calls = createCalls(name);
  /** vCards of the last complete listing by resource path. */
  let known = new Map<string, Known>();

  /** The vCard resources of an address book, with their ETags. */
  async function resourcesOf(book: AddressBook, signal: AbortSignal): Promise<Resource[]> {
    const entries = await dav.propfind(book.url, { 'd:getetag': {}, 'd:resourcetype': {} }, '1', signal);
    return entries
      .filter((entry) => ok(entry) && !sameResource(entry.url, book.url) && !isCollection(entry.props))
      .map((entry) => {
        const etag = propText(entry.props['getetag']);
        return etag ? { url: entry.url, etag } : { url: entry.url };
      });
  }

  /** The contact of a vCard: its UID as id, else its path; the link from `contactUri` when set. */
  function finish(result: CardResult, book: AddressBook, url: string): CardResult {
    if ('error' in result) return result;
    const raw: RawContact = { ...result.raw, id: result.raw.id ?? new URL(url).pathname };
    if (contactUri !== undefined) {
      const values: Record<(typeof URI_VARIABLES)[number], string> = {
        id: encodeURIComponent(raw.id!),
        addressBook: encodeURIComponent(book.segment),
        href: url,
      };
      raw.contactUri = contactUri.replace(
        /\{([^{}]*)\}/g,
        (_, variable: string) => values[variable as keyof typeof values] ?? '',
      );
    }
    return { raw };
  }

  /** Fetches vCards of one address book, `MULTIGET` at a time, and reads them. */
  async function* fetchCards(
    book: AddressBook,
    wanted: readonly Resource[],
    file: string,
    signal: AbortSignal,
  ): AsyncGenerator<{ resource: Resource; result: CardResult }[]> {
    for (const chunk of chunks(wanted, MULTIGET)) {
      const entries = await dav.multiget(
        book.url,
        chunk.map((resource) => hrefOf(resource.url)),
        signal,
      );
      const byPath = new Map(entries.map((entry) => [pathKey(entry.url), entry]));
      const cards: Card[] = [];
      const cardResources: Resource[] = [];
      const answered: { resource: Resource; result: CardResult }[] = [];
      for (const resource of chunk) {
        const entry = byPath.get(pathKey(resource.url));
        // Deleted since it was listed: it is not there any more.
        if (!entry || entry.status === 404) continue;
        if (!ok(entry)) {
          throw new Error(`REPORT ${urlLabel(book.url)}: ${hrefOf(resource.url)}: HTTP ${entry.status}`);
        }
        const data = propText(entry.props['addressData']);
        const etag = propText(entry.props['getetag']) ?? resource.etag;
        const current = etag ? { url: resource.url, etag } : { url: resource.url };
        if (data === undefined) {
          answered.push({ resource: current, result: { error: 'the server gave no address-data' } });
          continue;
        }
        cards.push({ url: resource.url, data });
        cardResources.push(current);
      }
      const results = await readCards(cards, file);
      results.forEach((result, index) => {
        const resource = cardResources[index]!;
        answered.push({ resource, result: finish(result, book, resource.url) });
      });
      yield answered;
    }
  }

  async function* listAll(signal: AbortSignal): AsyncGenerator<RawContact[]> {
    const books = await addressBooks.list(signal);
    const seen = new Map<string, Known>();
    let skipped = 0;
    const keep = (resource: Resource, result: CardResult): RawContact | undefined => {
      if (resource.etag !== undefined) seen.set(pathKey(resource.url), { etag: resource.etag, result });
      if ('raw' in result) return result.raw;
      if (skipped++ < LOGGED_SKIPS) {
        logger.warn({ source: name, card: urlLabel(resource.url), reason: result.error }, 'vCard skipped');
      }
      return undefined;
    };
    const dir = await mkdtemp(join(tmpdir(), 'callcard-carddav-'));
    try {
      const file = join(dir, 'cards.vcf');
      for (const book of books) {
        const resources = await resourcesOf(book, signal);
        const unchanged: RawContact[] = [];
        const wanted: Resource[] = [];
        for (const resource of resources) {
          const before = known.get(pathKey(resource.url));
          if (before && resource.etag !== undefined && before.etag === resource.etag) {
            const raw = keep(resource, before.result);
            if (raw) unchanged.push(raw);
          } else {
            wanted.push(resource);
          }
        }
        for (const batch of chunks(unchanged, MULTIGET)) yield batch;
        for await (const answered of fetchCards(book, wanted, file, signal)) {
          const batch = answered.flatMap(({ resource, result }) => keep(resource, result) ?? []);
          if (batch.length > 0) yield batch;
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Only a listing that went to the end replaces what is known: vCards deleted since are forgotten.
    known = seen;
    if (skipped > 0) logger.warn({ source: name, skipped }, 'vCards skipped in the listing');
  }

  return {
    type: 'carddav',
    name,

    async *list(options: ListOptions): AsyncGenerator<readonly RawContact[]> {
      // Always every contact, whatever `since` (see above); the sync removes those not seen.
      const call = calls.begin(options.signal);
      try {
        yield* listAll(call.signal);
      } finally {
        call.end();
      }
    },

    async version(options: CallOptions): Promise<string | undefined> {
      const call = calls.begin(options.signal);
      try {
        const books = await addressBooks.list(call.signal);
        // A book without sync-token or getctag cannot tell whether it changed: list every time.
        if (books.some((book) => book.fingerprint === undefined)) return undefined;
        const text = books
          .map((book) => `${book.url}\n${book.fingerprint}`)
          .sort()
          .join('\n');
        return `carddav ${createHash('sha256').update(text).digest('base64url')}`;
      } finally {
        call.end();
      }
    },

    async close(): Promise<void> {
      if (calls.close()) known = new Map();
    },
  };
}
