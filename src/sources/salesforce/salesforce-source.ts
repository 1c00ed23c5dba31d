import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { RawContact } from '../../contacts/raw-contact.js';
import { clientCredentialsOrAuth } from '../../net/auth-schema.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import type { CallOptions, ListOptions, SearchQuery, Source, SourceDeps } from '../types.js';
import { type SalesforceObject, type SalesforceSourceSettings, salesforceTokenUrl } from './schema.js';

export { salesforceSourceSchema } from './schema.js';

export type SalesforceSourceConfig = SalesforceSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface SalesforceSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

/** The standard number fields of each object, with the label their numbers get. */
const STANDARD_PHONES: Record<SalesforceObject, readonly (readonly [string, string | undefined])[]> = {
  Account: [['Phone', undefined]],
  Contact: [
    ['Phone', undefined],
    ['MobilePhone', 'mobile'],
    ['HomePhone', 'home'],
    ['OtherPhone', 'other'],
    ['AssistantPhone', 'assistant'],
  ],
  Lead: [
    ['Phone', undefined],
    ['MobilePhone', 'mobile'],
  ],
};

/** The other fields read, by object: the name, the company and the country of the address. */
const FIELDS: Record<SalesforceObject, readonly string[]> = {
  Account: ['Id', 'Name', 'BillingCountry', 'ShippingCountry', 'SystemModstamp'],
  Contact: [
    'Id',
    'Name',
    'MailingCountry',
    'AccountId',
    'Account.Name',
    'Account.BillingCountry',
    'SystemModstamp',
  ],
  Lead: ['Id', 'Name', 'Company', 'Country', 'IsConverted', 'SystemModstamp'],
};

/** Account ids in one `AccountId IN (...)` query. */
const IDS_PER_QUERY = 100;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const time = (value: unknown): number | undefined => {
  const found = text(value);
  if (!found) return undefined;
  const ms = Date.parse(found);
  return Number.isFinite(ms) ? ms : undefined;
};

/** A SOQL datetime literal (UTC, whole seconds): `2026-11-26T10:00:00Z`. */
const soqlTime = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/** A record id as SOQL takes it in a string literal: Salesforce ids are 15 or 18 letters and digits. */
const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

interface Account {
  readonly name?: string;
  readonly country?: string;
}

/**
 * Salesforce Contacts, Accounts and Leads, read by the REST API's SOQL query resource: every page
 * of each object (`nextRecordsUrl`), or those changed since the last sync by `queryAll` on
 * `SystemModstamp`, which also gives the records deleted since (`IsDeleted`). A contact's company
 * and the country its national numbers are read in come from its mailing address, else from its
 * account. Live lookups search the phone fields by SOSL (`FIND ... IN PHONE FIELDS`).
 */
export function createSalesforceSource(
  config: SalesforceSourceConfig,
  deps: SourceDeps,
  options: SalesforceSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`salesforce source "${config.name}": ${message}`);
  };
  const instance = config.instanceUrl.replace(/\/+$/, '');
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(
      config,
      clientCredentialsOrAuth(config, { tokenUrl: salesforceTokenUrl(instance), clientAuth: 'body' }),
      deps,
      { env: options.env, limits: 'salesforce', ...(options.timing && { timing: options.timing }) },
    );
  } catch (error) {
    return fail((error as Error).message);
  }
  const api = `${instance}/services/data/v${config.apiVersion}`;
  const phonesOf = (object: SalesforceObject) => [
    ...STANDARD_PHONES[object],
    ...(config.phoneFields[object] ?? []).map((field) => [field, undefined] as const),
  ];
  const fieldsOf = (object: SalesforceObject, deletions: boolean) => [
    ...FIELDS[object],
    ...phonesOf(object).map(([field]) => field),
    ...(deletions ? ['IsDeleted'] : []),
  ];
  // An account's name and country as last read: a change re-reads its contacts.
  let accounts = new Map<string, Account>();
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`salesforce source "${config.name}" is closed`);
  };

  async function get(
    url: URL,
    what: string,
    signal: AbortSignal,
    live = false,
  ): Promise<Record<string, unknown>> {
    signal.throwIfAborted();
    open();
    const { json } = await client.send({ method: 'GET', url, headers: {}, what }, signal, false, { live });
    if (!isObject(json)) throw new RestRequestError(`${what}: the answer is not a Salesforce object`);
    return json;
  }

  /** Every page of a SOQL query's records: by `query`, or by `queryAll` (deleted records too). */
  async function* query(
    soql: string,
    all: boolean,
    what: string,
    signal: AbortSignal,
  ): AsyncGenerator<unknown[]> {
    const first = new URL(`${api}/${all ? 'queryAll' : 'query'}`);
    first.searchParams.set('q', soql);
    let url = first;
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      const named = `${what} page ${page}`;
      const json = await get(url, named, signal);
      const records = json['records'];
      // A wrong answer must not look like an empty listing.
      if (!Array.isArray(records)) throw new RestRequestError(`${named}: the answer has no records list`);
      yield records;
      const next = text(json['nextRecordsUrl']);
      if (json['done'] === true || !next) return;
      const following = new URL(next, instance);
      // The next page is on the org itself: credentials are never sent elsewhere.
      if (following.origin !== new URL(instance).origin || seen.has(following.href)) {
        throw new RestRequestError(`${named}: Salesforce gave a next page that is not one`);
      }
      seen.add(following.href);
      url = following;
    }
  }

  const soqlOf = (object: SalesforceObject, where: string[], deletions: boolean) =>
    `SELECT ${fieldsOf(object, deletions).join(', ')} FROM ${object}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;

  function invalid(object: SalesforceObject, record: unknown): RawContact | undefined {
    const what = object.toLowerCase();
    if (!isObject(record)) return { phones: [], customData: {}, invalid: `the ${what} is not an object` };
    const id = text(record['Id']);
    if (!id || !SALESFORCE_ID.test(id))
      return { phones: [], customData: {}, invalid: `the ${what} has no id` };
    for (const [field] of phonesOf(object)) {
      const value = record[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return { phones: [], customData: {}, invalid: `${what} ${id}: ${field} is not text` };
    }
    return undefined;
  }

  /** A record as a contact; `incremental`: one without numbers (or converted, deleted) goes from the index. */
  function contactOf(object: SalesforceObject, record: unknown, incremental: boolean): RawContact {
    const bad = invalid(object, record);
    if (bad) return bad;
    const fields = record as Record<string, unknown>;
    const id = text(fields['Id'])!;
    const phones: RawContact['phones'] = [];
    for (const [field, label] of phonesOf(object)) {
      const value = text(fields[field]);
      if (value) phones.push(label ? { value, label } : { value });
    }
    const updatedAt = time(fields['SystemModstamp']);
    const gone =
      fields['IsDeleted'] === true ||
      (object === 'Lead' && fields['IsConverted'] === true) ||
      (incremental && phones.length === 0);
    let name: string | undefined;
    let company: string | undefined;
    let country: string | undefined;
    let companyUri: string | undefined;
    if (object === 'Account') {
      company = text(fields['Name']);
      country = text(fields['BillingCountry']) ?? text(fields['ShippingCountry']);
      companyUri = `${instance}/${id}`;
    } else if (object === 'Contact') {
      name = text(fields['Name']);
      const account = isObject(fields['Account']) ? fields['Account'] : undefined;
      const accountId = text(fields['AccountId']);
      company = text(account?.['Name']);
      country = text(fields['MailingCountry']) ?? text(account?.['BillingCountry']);
      if (accountId) companyUri = `${instance}/${accountId}`;
    } else {
      name = text(fields['Name']);
      company = text(fields['Company']);
      country = text(fields['Country']);
    }
    return {
      id,
      ...(name && { name }),
      ...(company && { company }),
      ...(country && { country }),
      contactUri: `${instance}/${id}`,
      ...(companyUri && { companyUri }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(gone && { deleted: true }),
    };
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    const incremental = since !== undefined;
    const changedSince = incremental ? [`SystemModstamp >= ${soqlTime(since)}`] : [];
    const known = incremental ? accounts : new Map<string, Account>();
    const moved: string[] = [];
    const read = (object: SalesforceObject, where: string[], what: string) => {
      const conditions = object === 'Lead' && !incremental ? ['IsConverted = false', ...where] : where;
      return query(soqlOf(object, conditions, incremental), incremental, what, signal);
    };
    for (const object of config.objects) {
      if (object === 'Contact') continue;
      for await (const page of read(object, changedSince, `${incremental ? 'changed' : 'list'} ${object}`)) {
        const contacts = page.map((record) => contactOf(object, record, incremental));
        if (object === 'Account') {
          for (const contact of contacts) {
            if (!contact.id || contact.invalid) continue;
            const before = accounts.get(contact.id);
            const now = {
              ...(contact.company && { name: contact.company }),
              ...(contact.country && { country: contact.country }),
            };
            known.set(contact.id, now);
            if (incremental && (before?.name !== now.name || before?.country !== now.country))
              moved.push(contact.id);
          }
        }
        const shown =
          object === 'Account' && !incremental
            ? contacts.filter((contact) => contact.invalid || contact.phones.length > 0)
            : contacts;
        if (shown.length > 0) yield shown;
      }
    }
    accounts = known;
    if (!config.objects.includes('Contact')) return;
    const seen = new Set<string>();
    const contacts = async function* (pages: AsyncGenerator<unknown[]>) {
      for await (const page of pages) {
        const found = page
          .map((record) => contactOf('Contact', record, incremental))
          .filter((contact) => {
            if (contact.id === undefined || contact.invalid) return true;
            if (seen.has(contact.id)) return false;
            seen.add(contact.id);
            return true;
          });
        if (found.length > 0) yield found;
      }
    };
    yield* contacts(read('Contact', changedSince, `${incremental ? 'changed' : 'list'} Contact`));
    // A renamed or moved account changes its contacts' company and country: read them again.
    for (let start = 0; start < moved.length; start += IDS_PER_QUERY) {
      const ids = moved.slice(start, start + IDS_PER_QUERY).filter((id) => SALESFORCE_ID.test(id));
      if (ids.length === 0) continue;
      yield* contacts(
        read(
          'Contact',
          [`AccountId IN (${ids.map((id) => `'${id}'`).join(', ')})`],
          'contacts of changed accounts',
        ),
      );
    }
  }

  /** SOSL's search terms of a number: its digits, as dialled at home, and without the trunk prefix. */
  function termsOf(search: SearchQuery): string[] {
    const national = parsePhoneNumberFromString(search.forms.e164)?.nationalNumber;
    const terms = [search.forms.digits, search.forms.national, national]
      .map((term) => term?.replace(/\D/g, ''))
      .filter((term): term is string => term !== undefined && term.length >= 2);
    return [...new Set(terms)];
  }

  async function searchNumber(search: SearchQuery, callOptions: CallOptions): Promise<RawContact[]> {
    open();
    const terms = termsOf(search);
    if (terms.length === 0) return [];
    const returning = config.objects.map((object) => {
      const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
      return `${object}(${fieldsOf(object, false).join(', ')}${where} LIMIT ${search.limit})`;
    });
    const sosl = `FIND {${terms.join(' OR ')}} IN PHONE FIELDS RETURNING ${returning.join(', ')}`;
    const url = new URL(`${api}/search`);
    url.searchParams.set('q', sosl);
    // A lookup while the phone rings: never held back by the sync's share of the limits.
    const json = await get(url, 'search the phone fields', callOptions.signal, true);
    const records = json['searchRecords'];
    if (!Array.isArray(records))
      throw new RestRequestError('search the phone fields: the answer has no searchRecords');
    const found: RawContact[] = [];
    for (const record of records) {
      const type =
        isObject(record) && isObject(record['attributes']) ? record['attributes']['type'] : undefined;
      const object = config.objects.find((name) => name === type);
      if (!object) continue;
      const contact = contactOf(object, record, false);
      if (!contact.invalid && !contact.deleted) found.push(contact);
    }
    return found;
  }

  return {
    type: 'salesforce',
    name: config.name,
    budget: () => client.budget(),
    list,
    search: searchNumber,
    async close() {
      closed = true;
    },
  };
}
