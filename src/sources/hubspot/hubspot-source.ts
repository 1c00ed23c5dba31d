import type { RawContact } from '../../contacts/raw-contact.js';
import { tokenOrAuth } from '../../net/auth-schema.js';
import { type HttpRequest, RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import type { HubspotSourceSettings } from './schema.js';

export { hubspotSourceSchema } from './schema.js';

export type HubspotSourceConfig = HubspotSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface HubspotSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

interface Company {
  readonly name?: string;
  readonly country?: string;
}

type Kind = 'contacts' | 'companies';

/** HubSpot's most records a page: 100 for a listing, 200 for a search. */
const LIST_LIMIT = 100;
const SEARCH_LIMIT = 200;
/** A search gives at most 10 000 results, whatever its paging: beyond, the changes are listed in full. */
const SEARCH_CAP = 10_000;
/** Ids in one batch read, and values in one `IN` filter. */
const IDS_PER_REQUEST = 100;

const COMPANY_PROPERTIES = ['name', 'phone', 'country', 'hs_lastmodifieddate'];

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const time = (value: unknown): number | undefined => {
  const found = text(value);
  if (!found) return undefined;
  const ms = /^\d+$/.test(found) ? Number(found) : Date.parse(found);
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * HubSpot CRM contacts and companies, read by its CRM v3 API: every page of
 * `/crm/v3/objects/contacts` and `/companies`, or those changed since the last sync (a search on
 * `hs_lastmodifieddate`). A contact's company and the country its national numbers are read in
 * come from its own properties, else from its primary company (`associatedcompanyid`).
 */
export function createHubspotSource(
  config: HubspotSourceConfig,
  deps: SourceDeps,
  options: HubspotSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`hubspot source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, tokenOrAuth(config, { type: 'bearer' }), deps, {
      env: options.env,
      limits: 'hubspot',
      ...(options.timing && { timing: options.timing }),
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const base = config.baseUrl.replace(/\/+$/, '');
  const phoneProperties = ['phone', 'mobilephone', ...config.phoneProperties];
  const contactProperties = [
    'firstname',
    'lastname',
    'company',
    'country',
    'associatedcompanyid',
    'hs_lastmodifieddate',
    ...phoneProperties,
  ];
  const propertiesOf = (kind: Kind) => (kind === 'contacts' ? contactProperties : COMPANY_PROPERTIES);
  const web = config.portalId ? `https://app.hubspot.com/contacts/${config.portalId}` : undefined;
  let companies = new Map<string, Company>();
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`hubspot source "${config.name}" is closed`);
  };

  async function send(
    request: Omit<HttpRequest, 'headers'>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    signal.throwIfAborted();
    open();
    const { json } = await client.send({ ...request, headers: {} }, signal, false);
    if (!isObject(json)) throw new RestRequestError(`${request.what}: the answer is not a HubSpot object`);
    return json;
  }

  function resultsOf(json: Record<string, unknown>, what: string): unknown[] {
    const results = json['results'];
    // A wrong answer must not look like an empty listing.
    if (!Array.isArray(results)) throw new RestRequestError(`${what}: the answer has no results list`);
    return results;
  }

  const nextOf = (json: Record<string, unknown>): string | undefined => {
    const paging = json['paging'];
    const next = isObject(paging) && isObject(paging['next']) ? paging['next'] : undefined;
    return text(next?.['after']);
  };

  /** Every record of a kind, by the list endpoint. */
  async function* listAll(kind: Kind, signal: AbortSignal): AsyncGenerator<unknown[]> {
    let after: string | undefined;
    for (let page = 1; ; page++) {
      const url = new URL(`${base}/crm/v3/objects/${kind}`);
      url.searchParams.set('limit', String(LIST_LIMIT));
      url.searchParams.set('properties', propertiesOf(kind).join(','));
      url.searchParams.set('archived', 'false');
      if (after) url.searchParams.set('after', after);
      const what = `list ${kind} page ${page}`;
      const json = await send({ method: 'GET', url, what }, signal);
      yield resultsOf(json, what);
      const next = nextOf(json);
      if (!next) return;
      if (next === after) throw new RestRequestError(`${what}: HubSpot gave the same cursor again`);
      after = next;
    }
  }

  /** The records a search finds; false when they are more than a search can page through. */
  async function* search(
    kind: Kind,
    filter: Record<string, unknown>,
    signal: AbortSignal,
  ): AsyncGenerator<unknown[], boolean> {
    let after = '0';
    for (let page = 1; ; page++) {
      const what = `search ${kind} page ${page}`;
      const body = {
        filterGroups: [{ filters: [filter] }],
        properties: propertiesOf(kind),
        sorts: [],
        limit: SEARCH_LIMIT,
        after,
      };
      const json = await send(
        {
          method: 'POST',
          url: new URL(`${base}/crm/v3/objects/${kind}/search`),
          body: JSON.stringify(body),
          what,
        },
        signal,
      );
      if (page === 1 && typeof json['total'] === 'number' && json['total'] > SEARCH_CAP) return false;
      yield resultsOf(json, what);
      const next = nextOf(json);
      if (!next) return true;
      if (next === after) throw new RestRequestError(`${what}: HubSpot gave the same cursor again`);
      after = next;
    }
  }

  /** Records changed since `since`: by a search, or (more than it can give) by listing them all. */
  async function* changed(kind: Kind, since: number, signal: AbortSignal): AsyncGenerator<unknown[]> {
    const searching = search(
      kind,
      { propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(since) },
      signal,
    );
    for (;;) {
      const step = await searching.next();
      if (step.done) {
        if (step.value === false) {
          deps.logger.info({ source: config.name, kind }, 'more changes than a search gives: listing all');
          yield* listAll(kind, signal);
        }
        return;
      }
      yield step.value;
    }
  }

  const companyOf = (properties: Record<string, unknown>): Company => {
    const name = text(properties['name']);
    const country = text(properties['country']);
    return { ...(name && { name }), ...(country && { country }) };
  };

  function invalid(what: string, record: unknown): RawContact | undefined {
    if (!isObject(record)) return { phones: [], customData: {}, invalid: `the ${what} is not an object` };
    if (!text(record['id'])) return { phones: [], customData: {}, invalid: `the ${what} has no id` };
    if (!isObject(record['properties']))
      return { phones: [], customData: {}, invalid: `${what} ${text(record['id'])}: no properties` };
    return undefined;
  }

  function contactOf(record: unknown): RawContact {
    const bad = invalid('contact', record);
    if (bad) return bad;
    const { id: rawId, properties, updatedAt: updated, archived } = record as Record<string, unknown>;
    const id = text(rawId)!;
    const props = properties as Record<string, unknown>;
    const companyId = text(props['associatedcompanyid']);
    const company = companyId ? companies.get(companyId) : undefined;
    const name = [text(props['firstname']), text(props['lastname'])].filter(Boolean).join(' ') || undefined;
    const companyName = company?.name ?? text(props['company']);
    const country = text(props['country']) ?? company?.country;
    const phones: RawContact['phones'] = [];
    for (const property of phoneProperties) {
      const value = text(props[property]);
      if (value) phones.push({ value, label: property === 'mobilephone' ? 'mobile' : property });
    }
    const updatedAt = time(props['hs_lastmodifieddate']) ?? time(updated);
    return {
      id,
      ...(name && { name }),
      ...(companyName && { company: companyName }),
      ...(country && { country }),
      ...(web && { contactUri: `${web}/record/0-1/${id}` }),
      ...(web && companyId && { companyUri: `${web}/record/0-2/${companyId}` }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(archived === true && { deleted: true }),
    };
  }

  function companyContact(record: Record<string, unknown>, id: string): RawContact {
    const props = record['properties'] as Record<string, unknown>;
    const company = companyOf(props);
    const phone = text(props['phone']);
    const updatedAt = time(props['hs_lastmodifieddate']) ?? time(record['updatedAt']);
    return {
      id: `company-${id}`,
      ...(company.name && { company: company.name }),
      ...(company.country && { country: company.country }),
      ...(web && { contactUri: `${web}/record/0-2/${id}`, companyUri: `${web}/record/0-2/${id}` }),
      phones: phone ? [{ value: phone }] : [],
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(record['archived'] === true && { deleted: true }),
    };
  }

  /** Companies that contacts of a page belong to and that are not known yet, read by id. */
  async function fetchMissing(contacts: unknown[], signal: AbortSignal): Promise<void> {
    const missing = new Set<string>();
    for (const contact of contacts) {
      const props = isObject(contact) && isObject(contact['properties']) ? contact['properties'] : undefined;
      const id = text(props?.['associatedcompanyid']);
      if (id && !companies.has(id)) missing.add(id);
    }
    const ids = [...missing];
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + IDS_PER_REQUEST);
      const what = 'read companies by id';
      const body = {
        inputs: chunk.map((id) => ({ id })),
        properties: COMPANY_PROPERTIES,
        propertiesWithHistory: [],
      };
      const json = await send(
        {
          method: 'POST',
          url: new URL(`${base}/crm/v3/objects/companies/batch/read`),
          body: JSON.stringify(body),
          what,
        },
        signal,
      );
      for (const record of resultsOf(json, what)) {
        const id = isObject(record) ? text(record['id']) : undefined;
        if (id && isObject(record) && isObject(record['properties']))
          companies.set(id, companyOf(record['properties']));
      }
      // One not found (deleted, merged) is not asked again in this sync.
      for (const id of chunk) if (!companies.has(id)) companies.set(id, {});
    }
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    const incremental = since !== undefined;
    const known = incremental ? companies : new Map<string, Company>();
    const moved: string[] = [];
    const pages = (kind: Kind) =>
      incremental ? changed(kind, Math.floor(since), signal) : listAll(kind, signal);
    for await (const page of pages('companies')) {
      const contacts: RawContact[] = [];
      for (const record of page) {
        const bad = invalid('company', record);
        if (bad) {
          if (config.companies) contacts.push(bad);
          continue;
        }
        const entry = record as Record<string, unknown>;
        const id = text(entry['id'])!;
        const before = companies.get(id);
        const now = companyOf(entry['properties'] as Record<string, unknown>);
        known.set(id, now);
        if (incremental && (before?.name !== now.name || before?.country !== now.country)) moved.push(id);
        // Only companies with a number are contacts; the others give contacts their name and country.
        if (
          config.companies &&
          (text((entry['properties'] as Record<string, unknown>)['phone']) || entry['archived'] === true)
        ) {
          contacts.push(companyContact(entry, id));
        }
      }
      if (contacts.length > 0) yield contacts;
    }
    companies = known;
    const seen = new Set<string>();
    const contacts = async function* (source: AsyncGenerator<unknown[], unknown>) {
      for await (const page of source) {
        await fetchMissing(page, signal);
        const read = page.map(contactOf).filter((contact) => {
          if (contact.id === undefined || contact.invalid) return true;
          if (seen.has(contact.id)) return false;
          seen.add(contact.id);
          return true;
        });
        if (read.length > 0) yield read;
      }
    };
    yield* contacts(pages('contacts'));
    // A renamed or moved company changes its contacts' company and country: read them again.
    for (let start = 0; start < moved.length; start += IDS_PER_REQUEST) {
      const values = moved.slice(start, start + IDS_PER_REQUEST);
      yield* contacts(
        search('contacts', { propertyName: 'associatedcompanyid', operator: 'IN', values }, signal),
      );
    }
  }

  return {
    type: 'hubspot',
    name: config.name,
    budget: () => client.budget(),
    list,
    async close() {
      closed = true;
    },
  };
}
