import type { RawContact } from '../../contacts/raw-contact.js';
import { tokenOrAuth } from '../../net/auth-schema.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import type { PipedriveSourceSettings } from './schema.js';

export { pipedriveSourceSchema } from './schema.js';

export type PipedriveSourceConfig = PipedriveSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface PipedriveSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

/** What a person needs of its organization: the company name, and the country of its address. */
interface Organization {
  readonly name?: string;
  readonly country?: string;
}

/** Pipedrive allows at most 100 ids in one `ids` filter. */
const IDS_PER_REQUEST = 100;

/** Pipedrive's times: RFC 3339 in API v2, `YYYY-MM-DD HH:MM:SS` in UTC in v1. */
export function pipedriveTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** Pipedrive's ids are numbers; one given as text is taken as it is. */
const idOf = (value: unknown): string | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? String(value) : text(value);

/** A person's or organization's numbers as typed, the primary one first. */
function phonesOf(value: unknown): RawContact['phones'] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return 'phones is not a list';
  const phones = value
    .filter((item): item is Record<string, unknown> => isObject(item) && text(item['value']) !== undefined)
    .sort((a, b) => Number(b['primary'] === true) - Number(a['primary'] === true));
  return phones.map((item) => {
    const label = text(item['label']);
    return label ? { value: text(item['value'])!, label } : { value: text(item['value'])! };
  });
}

/** The country of an address object (`address` of an organization, `postal_address` of a person). */
const countryOf = (address: unknown): string | undefined =>
  isObject(address) ? text(address['country']) : undefined;

/**
 * Pipedrive persons (and organizations with phone fields), read by API v2: every page of
 * `/api/v2/persons` and `/api/v2/organizations`, or those changed since the last sync
 * (`updated_since`). A person's company and the country its national numbers are read in come from
 * its organization; a person's own postal address, when Pipedrive gives it, wins for the country.
 */
export function createPipedriveSource(
  config: PipedriveSourceConfig,
  deps: SourceDeps,
  options: PipedriveSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`pipedrive source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, tokenOrAuth(config, { type: 'apiKey', header: 'x-api-token' }), deps, {
      env: options.env,
      limits: 'pipedrive',
      ...(options.timing && { timing: options.timing }),
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const base = config.baseUrl.replace(/\/+$/, '');
  const web = config.companyDomain ? `https://${config.companyDomain}.pipedrive.com` : undefined;
  /** Organizations seen so far, by id: kept between syncs, so a changed person finds its company. */
  let organizations = new Map<string, Organization>();
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`pipedrive source "${config.name}" is closed`);
  };

  /** Every page of a v2 collection, as its records. */
  async function* pages(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
  ): AsyncGenerator<unknown[]> {
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      open();
      const url = new URL(`${base}${path}`);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      url.searchParams.set('limit', String(config.pageSize));
      if (cursor) url.searchParams.set('cursor', cursor);
      const what = `list ${path} page ${page}`;
      const { json } = await client.send({ method: 'GET', url, headers: {}, what }, signal, false);
      if (!isObject(json) || json['success'] === false)
        throw new RestRequestError(`${what}: the answer is not a Pipedrive list`);
      const data = json['data'];
      // An empty page is `data: []` or `data: null`; anything else would look like no contacts.
      if (data !== null && data !== undefined && !Array.isArray(data))
        throw new RestRequestError(`${what}: the answer's data is not a list`);
      yield data ?? [];
      const extra = json['additional_data'];
      const next = isObject(extra) ? text(extra['next_cursor']) : undefined;
      if (!next) return;
      if (next === cursor) throw new RestRequestError(`${what}: Pipedrive gave the same cursor again`);
      cursor = next;
    }
  }

  function organizationOf(record: Record<string, unknown>): Organization {
    const name = text(record['name']);
    const country = countryOf(record['address']);
    return { ...(name && { name }), ...(country && { country }) };
  }

  function personContact(record: unknown): RawContact {
    if (!isObject(record)) return { phones: [], customData: {}, invalid: 'the person is not an object' };
    const id = idOf(record['id']);
    if (!id) return { phones: [], customData: {}, invalid: 'the person has no id' };
    const phones = phonesOf(record['phones']);
    if (typeof phones === 'string')
      return { id, phones: [], customData: {}, invalid: `person ${id}: ${phones}` };
    const orgId = idOf(record['org_id']);
    const organization = orgId ? organizations.get(orgId) : undefined;
    const first = text(record['first_name']);
    const last = text(record['last_name']);
    const name = text(record['name']) ?? ([first, last].filter(Boolean).join(' ') || undefined);
    const country = countryOf(record['postal_address']) ?? organization?.country;
    const updatedAt = pipedriveTime(record['update_time']);
    return {
      id,
      ...(name && { name }),
      ...(organization?.name && { company: organization.name }),
      ...(country && { country }),
      ...(web && { contactUri: `${web}/person/${id}` }),
      ...(web && orgId && { companyUri: `${web}/organization/${orgId}` }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(record['is_deleted'] === true && { deleted: true }),
    };
  }

  /** An organization as a contact of its own: its id is `org-<id>`, its numbers in the configured fields. */
  function organizationContact(record: Record<string, unknown>, id: string): RawContact {
    const custom = isObject(record['custom_fields']) ? record['custom_fields'] : {};
    const phones: RawContact['phones'] = [];
    for (const key of config.organizationPhoneFields) {
      const value = custom[key];
      for (const item of Array.isArray(value) ? value : [value]) {
        const number =
          typeof item === 'number' ? String(item) : isObject(item) ? text(item['value']) : text(item);
        if (number) phones.push({ value: number });
      }
    }
    const organization = organizationOf(record);
    const updatedAt = pipedriveTime(record['update_time']);
    return {
      id: `org-${id}`,
      ...(organization.name && { company: organization.name }),
      ...(organization.country && { country: organization.country }),
      ...(web && { contactUri: `${web}/organization/${id}`, companyUri: `${web}/organization/${id}` }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(record['is_deleted'] === true && { deleted: true }),
    };
  }

  /** Organizations that persons of a page belong to and that are not known yet, asked by id. */
  async function fetchMissing(persons: unknown[], signal: AbortSignal): Promise<void> {
    const missing = new Set<string>();
    for (const person of persons) {
      const orgId = isObject(person) ? idOf(person['org_id']) : undefined;
      if (orgId && !organizations.has(orgId)) missing.add(orgId);
    }
    const ids = [...missing];
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + IDS_PER_REQUEST);
      for await (const page of pages('/api/v2/organizations', { ids: chunk.join(',') }, signal)) {
        for (const record of page) {
          const id = isObject(record) ? idOf(record['id']) : undefined;
          if (id && isObject(record)) organizations.set(id, organizationOf(record));
        }
      }
      // One not given (deleted, or not visible to the token's user) is not asked again in this sync.
      for (const id of chunk) if (!organizations.has(id)) organizations.set(id, {});
    }
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    const incremental = since !== undefined;
    const filter: Record<string, string> = incremental
      ? { updated_since: new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z') }
      : {};
    // A full listing learns every organization afresh; an incremental one adds to what is known.
    const known = incremental ? organizations : new Map<string, Organization>();
    const changed: string[] = [];
    for await (const page of pages('/api/v2/organizations', filter, signal)) {
      const contacts: RawContact[] = [];
      for (const record of page) {
        const id = isObject(record) ? idOf(record['id']) : undefined;
        if (!id || !isObject(record)) {
          if (config.organizationPhoneFields.length > 0) {
            contacts.push({ phones: [], customData: {}, invalid: 'the organization has no id' });
          }
          continue;
        }
        const before = organizations.get(id);
        const now = organizationOf(record);
        known.set(id, now);
        if (incremental && (before?.name !== now.name || before?.country !== now.country)) changed.push(id);
        if (config.organizationPhoneFields.length > 0) contacts.push(organizationContact(record, id));
      }
      if (contacts.length > 0) yield contacts;
    }
    organizations = known;
    const seen = new Set<string>();
    const persons = async function* (query: Record<string, string>) {
      for await (const page of pages('/api/v2/persons', query, signal)) {
        await fetchMissing(page, signal);
        const contacts = page.map(personContact).filter((contact) => {
          // A person listed twice (changed, and in an organization that changed) is given once.
          if (contact.id === undefined || contact.invalid) return true;
          if (seen.has(contact.id)) return false;
          seen.add(contact.id);
          return true;
        });
        if (contacts.length > 0) yield contacts;
      }
    };
    yield* persons(filter);
    // A renamed or moved organization changes its persons' company and country: read them again.
    for (const orgId of changed) yield* persons({ org_id: orgId });
  }

  return {
    type: 'pipedrive',
    name: config.name,
    budget: () => client.budget(),
    list,
    async close() {
      closed = true;
    },
  };
}
