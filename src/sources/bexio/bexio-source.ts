import type { RawContact } from '../../contacts/raw-contact.js';
import { tokenOrAuth } from '../../net/auth-schema.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { formatInZone, parseInZone } from '../../util/zone-time.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import type { BexioSourceSettings } from './schema.js';

export { bexioSourceSchema } from './schema.js';

export type BexioSourceConfig = BexioSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface BexioSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

interface Company {
  readonly name?: string;
  readonly country?: string;
}

/** bexio's contact types. */
const COMPANY = 1;
const PERSON = 2;

/** A contact's numbers, as bexio names its fields, and the labels they are shown with. */
const PHONES = [
  ['phone_fixed', 'phone'],
  ['phone_fixed_second', 'phone'],
  ['phone_mobile', 'mobile'],
] as const;

/** Ids in one `in` criterion. */
const IDS_PER_REQUEST = 100;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const idOf = (value: unknown): string | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? String(value) : text(value);

type Criterion = { readonly field: string; readonly value: unknown; readonly criteria: string };

/**
 * bexio contacts, read by its API 2.0: companies first, then persons (a search on
 * `contact_type_id`), every page or those changed since the last sync (`updated_at >=`). A person's
 * company comes from its contact relation; the country its national numbers are read in from its
 * own address (`country_id`), else its company's.
 */
export function createBexioSource(
  config: BexioSourceConfig,
  deps: SourceDeps,
  options: BexioSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`bexio source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, tokenOrAuth(config, { type: 'bearer' }), deps, {
      env: options.env,
      limits: 'bexio',
      ...(options.timing && { timing: options.timing }),
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const base = config.baseUrl.replace(/\/+$/, '');
  let countries = new Map<string, string>();
  let companies = new Map<string, Company>();
  /** The company of each person (contact relations), and the persons of each company. */
  let employer = new Map<string, string>();
  let loaded = false;
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`bexio source "${config.name}" is closed`);
  };

  /** Every page of a list (GET) or a search (POST with criteria), as its records. */
  async function* pages(path: string, criteria: readonly Criterion[] | undefined, signal: AbortSignal) {
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      open();
      const url = new URL(`${base}${path}`);
      url.searchParams.set('order_by', 'id');
      url.searchParams.set('limit', String(config.pageSize));
      url.searchParams.set('offset', String((page - 1) * config.pageSize));
      const what = `${criteria ? 'search' : 'list'} ${path} page ${page}`;
      const { json } = await client.send(
        criteria
          ? { method: 'POST', url, headers: {}, body: JSON.stringify(criteria), what }
          : { method: 'GET', url, headers: {}, what },
        signal,
        false,
      );
      if (!Array.isArray(json)) throw new RestRequestError(`${what}: the answer is not a list`);
      if (json.length > 0) yield json as unknown[];
      if (json.length < config.pageSize) return;
    }
  }

  async function loadCountries(signal: AbortSignal): Promise<void> {
    const found = new Map<string, string>();
    for await (const page of pages('/2.0/country', undefined, signal)) {
      for (const country of page) {
        if (!isObject(country)) continue;
        const id = idOf(country['id']);
        const code = text(country['iso3166_alpha2']) ?? text(country['name_short']) ?? text(country['name']);
        if (id && code) found.set(id, code);
      }
    }
    countries = found;
  }

  async function loadRelations(signal: AbortSignal): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const page of pages('/2.0/contact_relation', undefined, signal)) {
      for (const relation of page) {
        if (!isObject(relation)) continue;
        const company = idOf(relation['contact_id']);
        const person = idOf(relation['contact_sub_id']);
        if (company && person) found.set(person, company);
      }
    }
    return found;
  }

  const countryOf = (record: Record<string, unknown>) => countries.get(idOf(record['country_id']) ?? '');

  function contactOf(record: unknown): RawContact {
    if (!isObject(record)) return { phones: [], customData: {}, invalid: 'the contact is not an object' };
    const id = idOf(record['id']);
    if (!id) return { phones: [], customData: {}, invalid: 'the contact has no id' };
    const phones: RawContact['phones'] = [];
    for (const [field, label] of PHONES) {
      const value = record[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return { id, phones: [], customData: {}, invalid: `contact ${id}: ${field} is not text` };
      if (text(value)) phones.push({ value: text(value)!, label });
    }
    const person = record['contact_type_id'] === PERSON;
    const company = person ? companies.get(employer.get(id) ?? '') : undefined;
    // A person: name_2 is the first name, name_1 the last; a company: name_1 its name, name_2 an addition.
    const name = person
      ? [text(record['name_2']), text(record['name_1'])].filter(Boolean).join(' ') || undefined
      : undefined;
    const companyName = person
      ? company?.name
      : [text(record['name_1']), text(record['name_2'])].filter(Boolean).join(' ');
    const country = countryOf(record) ?? company?.country;
    const updatedAt =
      typeof record['updated_at'] === 'string'
        ? parseInZone(record['updated_at'], config.timeZone)
        : undefined;
    return {
      id,
      ...(name && { name }),
      ...(companyName && { company: companyName }),
      ...(country && { country }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
    };
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    // Companies, relations and countries are read in full on the first listing of the process.
    const incremental = since !== undefined && loaded;
    if (!incremental || countries.size === 0) await loadCountries(signal);
    employer = await loadRelations(signal);
    const changed: Criterion[] =
      since !== undefined
        ? [{ field: 'updated_at', value: formatInZone(since, config.timeZone), criteria: '>=' }]
        : [];
    const known = incremental ? companies : new Map<string, Company>();
    const moved = new Set<string>();
    const typed = (type: number, extra: readonly Criterion[]) => [
      { field: 'contact_type_id', value: type, criteria: '=' },
      ...extra,
    ];
    for await (const page of pages(
      '/2.0/contact/search',
      typed(COMPANY, incremental ? changed : []),
      signal,
    )) {
      for (const record of page) {
        const id = isObject(record) ? idOf(record['id']) : undefined;
        if (!id || !isObject(record)) continue;
        const name = [text(record['name_1']), text(record['name_2'])].filter(Boolean).join(' ') || undefined;
        const country = countryOf(record);
        const before = companies.get(id);
        known.set(id, { ...(name && { name }), ...(country && { country }) });
        if (incremental && (before?.name !== name || before?.country !== country)) moved.add(id);
      }
      // Companies with a number are contacts too (a switchboard); one without is none (any more).
      yield page
        .map(contactOf)
        .map((contact) =>
          contact.invalid || contact.phones.length > 0
            ? contact
            : { id: contact.id!, phones: [], customData: {}, deleted: true },
        );
    }
    companies = known;
    loaded = true;
    const seen = new Set<string>();
    const persons = async function* (extra: readonly Criterion[]) {
      for await (const page of pages('/2.0/contact/search', typed(PERSON, extra), signal)) {
        const read = page.map(contactOf).filter((contact) => {
          if (contact.id === undefined || contact.invalid) return true;
          if (seen.has(contact.id)) return false;
          seen.add(contact.id);
          return true;
        });
        if (read.length > 0) yield read;
      }
    };
    yield* persons(changed);
    // A renamed or moved company changes its persons' company and country: read them again.
    const reread = [...employer]
      .filter(([, company]) => moved.has(company))
      .map(([person]) => Number(person));
    for (let start = 0; start < reread.length; start += IDS_PER_REQUEST) {
      yield* persons([{ field: 'id', value: reread.slice(start, start + IDS_PER_REQUEST), criteria: 'in' }]);
    }
  }

  return {
    type: 'bexio',
    name: config.name,
    budget: () => client.budget(),
    list,
    async close() {
      closed = true;
    },
  };
}
