import type { RawContact } from '../../contacts/raw-contact.js';
import { createAuth } from '../../net/auth.js';
import { tokenOrAuth } from '../../net/auth-schema.js';
import { createHttpClient, RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import { type WeclappSourceSettings, weclappApi } from './schema.js';

export { weclappSourceSchema } from './schema.js';

export type WeclappSourceConfig = WeclappSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface WeclappSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
}

interface Organization {
  readonly name?: string;
  readonly country?: string;
  readonly contacts: readonly string[];
}

/** A party's numbers, as weclapp names its fields, and the labels they are shown with. */
const PHONES = [
  ['phone', 'phone'],
  ['mobilePhone1', 'mobile'],
  ['mobilePhone2', 'mobile'],
  ['fixPhone2', 'phone'],
  ['phoneHome', 'home'],
] as const;

/** Ids in one `id-in` filter. */
const IDS_PER_REQUEST = 100;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const idOf = (value: unknown): string | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? String(value) : text(value);

/** The country code of a party's primary address (else its first address with one). */
function countryOf(party: Record<string, unknown>): string | undefined {
  const addresses = Array.isArray(party['addresses']) ? party['addresses'].filter(isObject) : [];
  const primaryId = text(party['primaryAddressId']);
  const primary =
    addresses.find((address) => primaryId !== undefined && idOf(address['id']) === primaryId) ??
    addresses.find((address) => address['primaryAddress'] === true);
  return (
    text(primary?.['countryCode']) ?? addresses.map((address) => text(address['countryCode'])).find(Boolean)
  );
}

/**
 * weclapp parties, read by its REST API v2: organizations first (`partyType-eq=ORGANIZATION`), then
 * persons, every page or those changed since the last sync (`lastModifiedDate-ge`). A contact
 * person's company and the country its national numbers are read in come from the organization
 * whose contacts it is in; a party's own primary address wins for the country.
 */
export function createWeclappSource(
  config: WeclappSourceConfig,
  deps: SourceDeps,
  options: WeclappSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`weclapp source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof createHttpClient>;
  let api: string;
  try {
    api = weclappApi(config);
    const auth = createAuth(
      tokenOrAuth(config, { type: 'apiKey', header: 'AuthenticationToken' }),
      { baseDir: deps.baseDir, env: options.env ?? process.env },
      {
        timeoutMs: config.requestTimeoutMs,
        // An OAuth connection is named after its source unless the config names it.
        connection: config.name,
        ...(deps.connections && { connections: deps.connections }),
      },
    );
    client = createHttpClient({
      auth,
      headers: {},
      timeoutMs: config.requestTimeoutMs,
      rateLimit: { tries: 3, maxWaitMs: config.maxRetryWaitMs },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  /** Organizations by id, kept between syncs; and the organization of each contact person. */
  let organizations = new Map<string, Organization>();
  let employer = new Map<string, string>();
  let loaded = false;
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`weclapp source "${config.name}" is closed`);
  };

  async function* pages(filter: Record<string, string>, signal: AbortSignal): AsyncGenerator<unknown[]> {
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      open();
      const url = new URL(`${api}/party`);
      for (const [name, value] of Object.entries(filter)) url.searchParams.set(name, value);
      // By id: a page boundary does not move while records change.
      url.searchParams.set('sort', 'id');
      url.searchParams.set('page', String(page));
      url.searchParams.set('pageSize', String(config.pageSize));
      const what = `list parties page ${page}`;
      const { json } = await client.send({ method: 'GET', url, headers: {}, what }, signal, false);
      const result = isObject(json) ? json['result'] : undefined;
      if (!Array.isArray(result)) throw new RestRequestError(`${what}: the answer has no result list`);
      if (result.length > 0) yield result;
      if (result.length < config.pageSize) return;
    }
  }

  function organizationOf(party: Record<string, unknown>): Organization {
    const name = text(party['company']);
    const country = countryOf(party);
    const contacts = Array.isArray(party['contacts'])
      ? party['contacts']
          .map((item) => (isObject(item) ? idOf(item['id']) : undefined))
          .filter((id) => id !== undefined)
      : [];
    return { ...(name && { name }), ...(country && { country }), contacts };
  }

  function contactOf(record: unknown): RawContact {
    if (!isObject(record)) return { phones: [], customData: {}, invalid: 'the party is not an object' };
    const id = idOf(record['id']);
    if (!id) return { phones: [], customData: {}, invalid: 'the party has no id' };
    const phones: RawContact['phones'] = [];
    for (const [field, label] of PHONES) {
      const value = record[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return { id, phones: [], customData: {}, invalid: `party ${id}: ${field} is not text` };
      if (text(value)) phones.push({ value: text(value)!, label });
    }
    const organization = record['partyType'] === 'ORGANIZATION';
    const employedBy = organization ? undefined : organizations.get(employer.get(id) ?? '');
    const name = organization
      ? undefined
      : [text(record['firstName']), text(record['middleName']), text(record['lastName'])]
          .filter(Boolean)
          .join(' ') || undefined;
    const company = text(record['company']) ?? text(record['personCompany']) ?? employedBy?.name;
    const country = countryOf(record) ?? employedBy?.country;
    const updated = record['lastModifiedDate'];
    return {
      id,
      ...(name && { name }),
      ...(company && { company }),
      ...(country && { country }),
      phones,
      customData: {},
      ...(typeof updated === 'number' && Number.isFinite(updated) && { updatedAt: updated }),
    };
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    // Organizations are read in full on the first listing, so that persons find their company.
    const incremental = since !== undefined && loaded;
    const changedSince: Record<string, string> =
      since !== undefined ? { 'lastModifiedDate-ge': String(Math.floor(since)) } : {};
    const known = incremental ? organizations : new Map<string, Organization>();
    const worksFor = incremental ? employer : new Map<string, string>();
    const reread: string[] = [];
    for await (const page of pages(
      { 'partyType-eq': 'ORGANIZATION', ...(incremental ? changedSince : {}) },
      signal,
    )) {
      for (const record of page) {
        const id = isObject(record) ? idOf(record['id']) : undefined;
        if (!id || !isObject(record)) continue;
        const before = organizations.get(id);
        const now = organizationOf(record);
        known.set(id, now);
        for (const contact of now.contacts) worksFor.set(contact, id);
        if (incremental && (before?.name !== now.name || before?.country !== now.country))
          reread.push(...now.contacts);
      }
      // Organizations with a number are contacts too (a switchboard); one without is none (any more).
      yield page
        .map(contactOf)
        .map((contact) =>
          contact.invalid || contact.phones.length > 0
            ? contact
            : { id: contact.id!, phones: [], customData: {}, deleted: true },
        );
    }
    organizations = known;
    employer = worksFor;
    loaded = true;
    const seen = new Set<string>();
    const persons = async function* (filter: Record<string, string>) {
      for await (const page of pages({ 'partyType-eq': 'PERSON', ...filter }, signal)) {
        const read = page.map(contactOf).filter((contact) => {
          if (contact.id === undefined || contact.invalid) return true;
          if (seen.has(contact.id)) return false;
          seen.add(contact.id);
          return true;
        });
        if (read.length > 0) yield read;
      }
    };
    yield* persons(changedSince);
    // A renamed or moved organization changes its persons' company and country: read them again.
    for (let start = 0; start < reread.length; start += IDS_PER_REQUEST) {
      yield* persons({ 'id-in': JSON.stringify(reread.slice(start, start + IDS_PER_REQUEST)) });
    }
  }

  return {
    type: 'weclapp',
    name: config.name,
    list,
    async close() {
      closed = true;
    },
  };
}
