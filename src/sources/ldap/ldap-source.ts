import type { Client, Entry, Filter } from 'ldapts';
import type * as z from 'zod';
import type { RawContact } from '../../contacts/raw-contact.js';
import type { Source, SourceDeps } from '../types.js';
import {
  type ConnectionSettings,
  ldapError,
  newClient,
  openSession,
  readCa,
  readPassword,
  type Timeouts,
} from './connection.js';
import { type EntryMapping, entryReader, requestedAttributes } from './entry.js';
import {
  changedSince,
  defaultFilter,
  endingFilter,
  numberEnding,
  numberFilter,
  parseFilter,
} from './filters.js';
import type { ldapSourceSchema } from './schema.js';

export { ldapSourceSchema } from './schema.js';

export type LdapSourceConfig = z.infer<typeof ldapSourceSchema> & {
  readonly name: string;
  readonly timeoutMs: number;
};

/** Result entries beyond the limit, for suffix searches that may return strangers the core drops. */
const SUFFIX_EXTRA = 50;

/** Settles with the signal's reason as soon as it is aborted; the operation itself may go on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Its failure once the connection is cut is expected and of no interest.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * People in an LDAP directory (OpenLDAP, Active Directory...). Lists them page by page for
 * mirroring, all or changed since a time; searches a number live with an equality filter over the
 * phone attributes.
 *
 * Directories keep numbers as free text. A live search finds the usual written forms (and, with
 * `liveMatch: suffix`, any form ending in the same digits); a number kept as `021/552 20 00` or
 * `021.552.20.00`, and on Active Directory (which compares numbers as plain text, spaces included)
 * even `021 552 20 00`, is found only in mirror mode, where the local index reads every format.
 * Mirror is the recommended mode for LDAP; live suits directories that keep numbers normalised.
 */
export function createLdapSource(config: LdapSourceConfig, deps: SourceDeps): Source {
  const fail = (message: string) => new Error(`source "${config.name}": ${message}`);
  let password: string | undefined;
  let ca: Buffer | undefined;
  try {
    password = readPassword(config, deps.baseDir);
    ca = readCa(config.tls.caFile, deps.baseDir);
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (config.bindDn && password === undefined) {
    throw fail(
      'bindDn needs password, passwordEnv or passwordFile (without bindDn callcard binds anonymously)',
    );
  }
  if (!config.bindDn && password !== undefined) throw fail('a password needs bindDn');
  if (config.tls.startTls && /^ldaps:/i.test(config.url)) {
    throw fail('tls.startTls is for ldap:// URLs; ldaps:// is encrypted from the start');
  }

  const settings: ConnectionSettings = {
    url: config.url,
    bindDn: config.bindDn,
    password,
    tls: { ca, rejectUnauthorized: config.tls.rejectUnauthorized, startTls: config.tls.startTls },
  };
  const mapping: EntryMapping = {
    id: config.attributes.id,
    name: config.attributes.name,
    company: config.attributes.company,
    phones: config.attributes.phones,
    updatedAt: config.attributes.updatedAt,
    country: config.attributes.country,
    custom: config.custom,
    contactUri: config.contactUri,
  };
  const toContact = entryReader(mapping);
  const { attributes, binary } = requestedAttributes(mapping);
  const base: Filter = config.filter ? parseFilter(config.filter) : defaultFilter(mapping.phones);
  const phones = mapping.phones;

  // A listing may take long: each page gets its own generous wait. A live search is cut off by the
  // core at timeoutMs; the client's own timeout only clears a connection that stopped answering.
  const listTimeouts: Timeouts = { connectMs: 10_000, operationMs: Math.max(config.timeoutMs * 2, 60_000) };
  const searchTimeouts: Timeouts = {
    connectMs: Math.max(config.timeoutMs, 3_000),
    operationMs: Math.max(config.timeoutMs * 2, 5_000),
  };
  const searchSeconds = Math.ceil(searchTimeouts.operationMs / 1000);

  let closed = false;
  const listings = new Set<Client>();

  // One connection for live searches, kept open and bound; opened again after the server dropped it.
  const live = newClient(settings, searchTimeouts);
  let session: { ready: Promise<void>; opened: boolean } | undefined;
  function liveSession(): Promise<void> {
    if (session && (!session.opened || live.isConnected)) return session.ready;
    const current = { ready: openSession(live, settings), opened: false };
    session = current;
    current.ready.then(
      () => {
        current.opened = true;
      },
      () => {
        if (session === current) session = undefined;
      },
    );
    return current.ready;
  }

  async function searchEntries(filter: Filter, sizeLimit: number): Promise<Entry[]> {
    // Checked before each search: a connection the server dropped in between is bound again, and
    // a search still running when the source closed does not open a new one.
    if (closed) throw new Error('source is closed');
    await liveSession();
    try {
      const result = await live.search(config.baseDn, {
        scope: config.scope,
        filter,
        attributes,
        explicitBufferAttributes: binary,
        sizeLimit,
        timeLimit: searchSeconds,
      });
      return result.searchEntries;
    } catch (error) {
      throw ldapError(error, settings, `search under "${config.baseDn}" failed`);
    }
  }

  return {
    type: 'ldap',
    name: config.name,

    async *list({ signal, since }) {
      signal.throwIfAborted();
      if (closed) throw new Error('source is closed');
      const client = newClient(settings, listTimeouts);
      listings.add(client);
      // Closing the connection is the only way to stop a search in flight with this client.
      const cut = () => void client.unbind().catch(() => {});
      signal.addEventListener('abort', cut, { once: true });
      try {
        await abortable(openSession(client, settings), signal);
        const filter = since === undefined ? base : changedSince(base, mapping.updatedAt, since);
        const pages = client.searchPaginated(config.baseDn, {
          scope: config.scope,
          filter,
          attributes,
          explicitBufferAttributes: binary,
          paged: { pageSize: config.pageSize },
        });
        while (true) {
          let page: IteratorResult<{ searchEntries: Entry[] }>;
          try {
            page = await abortable(pages.next(), signal);
          } catch (error) {
            if (signal.aborted) throw signal.reason;
            throw ldapError(error, settings, `listing under "${config.baseDn}" failed`);
          }
          if (page.done) break;
          if (page.value.searchEntries.length > 0) yield page.value.searchEntries.map(toContact);
        }
      } finally {
        signal.removeEventListener('abort', cut);
        listings.delete(client);
        await client.unbind().catch(() => {});
      }
    },

    async search(query, { signal }) {
      if (closed) throw new Error('source is closed');
      const run = async (): Promise<RawContact[]> => {
        // The exact forms first: equality filters, which directories index.
        const found = await searchEntries(numberFilter(base, phones, query.forms), query.limit);
        const ending = config.liveMatch === 'suffix' ? numberEnding(query.forms) : undefined;
        if (ending !== undefined && found.length < query.limit) {
          // May return other numbers with the same ending (another country's): the core re-checks
          // every contact, so these are dropped there, and the size limit leaves them room.
          const seen = new Set(found.map((entry) => entry.dn));
          const more = await searchEntries(endingFilter(base, phones, ending), query.limit + SUFFIX_EXTRA);
          for (const entry of more) if (!seen.has(entry.dn)) found.push(entry);
        }
        return found.map(toContact);
      };
      return abortable(run(), signal);
    },

    async close() {
      closed = true;
      session = undefined;
      await Promise.all([live, ...listings].map((client) => client.unbind().catch(() => {})));
    },
  };
}
