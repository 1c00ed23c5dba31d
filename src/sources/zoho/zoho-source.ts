import type { RawContact } from '../../contacts/raw-contact.js';
import { withAuthScheme } from '../../net/auth.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import type { ZohoModule, ZohoSourceSettings } from './schema.js';

export { zohoSourceSchema } from './schema.js';

export type ZohoSourceConfig = ZohoSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface ZohoSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

interface Account {
  readonly name?: string;
  readonly country?: string;
}

const PHONES: Record<ZohoModule, readonly (readonly [string, string | undefined])[]> = {
  Accounts: [['Phone', undefined]],
  Contacts: [
    ['Phone', undefined],
    ['Mobile', 'mobile'],
    ['Home_Phone', 'home'],
    ['Other_Phone', 'other'],
    ['Asst_Phone', 'assistant'],
  ],
  Leads: [
    ['Phone', undefined],
    ['Mobile', 'mobile'],
  ],
};

const FIELDS: Record<ZohoModule, readonly string[]> = {
  Accounts: ['Account_Name', 'Billing_Country', 'Modified_Time'],
  Contacts: ['Full_Name', 'Mailing_Country', 'Account_Name', 'Modified_Time'],
  Leads: ['Full_Name', 'Company', 'Country', 'Modified_Time'],
};

/** Zoho's most records a page. */
const PER_PAGE = 200;

/** How a module's record ids are told apart in callcard's index: contacts as they are, the others prefixed. */
const PREFIX: Record<ZohoModule, string> = { Accounts: 'account-', Contacts: '', Leads: 'lead-' };

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const time = (value: unknown): number | undefined => {
  const found = text(value);
  if (!found) return undefined;
  const ms = Date.parse(found);
  return Number.isFinite(ms) ? ms : undefined;
};

/** `If-Modified-Since` as Zoho's examples give it: ISO 8601 with an offset, whole seconds. */
const since8601 = (ms: number) =>
  `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;

/**
 * Zoho CRM Accounts, Contacts and Leads, read by the CRM API v8 in the org's data centre: every
 * page of each module (`page_token`), or those changed since the last sync (`If-Modified-Since`),
 * with the records deleted since (`/{module}/deleted`). A contact's company and the country its
 * national numbers are read in come from its mailing address, else from its account. Zoho takes
 * its OAuth tokens as `Authorization: Zoho-oauthtoken <token>`.
 */
export function createZohoSource(
  config: ZohoSourceConfig,
  deps: SourceDeps,
  options: ZohoSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`zoho source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, config.auth, deps, {
      env: options.env,
      limits: 'zoho',
      ...(options.timing && { timing: options.timing }),
      wrap: (auth) => withAuthScheme(auth, 'Zoho-oauthtoken'),
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  const api = `${(config.apiDomain ?? `https://www.zohoapis.${config.dataCentre}`).replace(/\/+$/, '')}/crm/v8`;
  const web = `https://crm.zoho.${config.dataCentre}/crm`;
  let accounts = new Map<string, Account>();
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`zoho source "${config.name}" is closed`);
  };

  async function get(url: URL, headers: Record<string, string>, what: string, signal: AbortSignal) {
    signal.throwIfAborted();
    open();
    let answer: Awaited<ReturnType<typeof client.send>>;
    try {
      answer = await client.send({ method: 'GET', url, headers, what }, signal, false);
    } catch (error) {
      // 304: nothing changed since If-Modified-Since.
      if (error instanceof RestRequestError && error.status === 304)
        return { data: [] as unknown[], info: {} };
      throw error;
    }
    const { status, json } = answer;
    // 204: nothing (changed) to give.
    if (status === 204 || json === undefined)
      return { data: [] as unknown[], info: {} as Record<string, unknown> };
    if (!isObject(json) || !Array.isArray(json['data']))
      throw new RestRequestError(`${what}: the answer has no data list`);
    return { data: json['data'] as unknown[], info: isObject(json['info']) ? json['info'] : {} };
  }

  /** Every page of a module's records, or of those changed since `since`. */
  async function* records(module: ZohoModule, since: number | undefined, signal: AbortSignal) {
    const headers: Record<string, string> =
      since === undefined ? {} : { 'if-modified-since': since8601(since) };
    let token: string | undefined;
    for (let page = 1; ; page++) {
      const url = new URL(`${api}/${module}`);
      url.searchParams.set(
        'fields',
        [...FIELDS[module], ...PHONES[module].map(([field]) => field)].join(','),
      );
      url.searchParams.set('per_page', String(PER_PAGE));
      if (token) url.searchParams.set('page_token', token);
      const what = `${since === undefined ? 'list' : 'changed'} ${module} page ${page}`;
      const { data, info } = await get(url, headers, what, signal);
      yield data;
      const next = text(info['next_page_token']);
      if (info['more_records'] !== true || !next) return;
      if (next === token) throw new RestRequestError(`${what}: Zoho gave the same page token again`);
      token = next;
    }
  }

  /** The records of a module deleted since `since` (to the recycle bin, or for good). */
  async function* deleted(
    module: ZohoModule,
    since: number,
    signal: AbortSignal,
  ): AsyncGenerator<RawContact[]> {
    for (let page = 1; ; page++) {
      const url = new URL(`${api}/${module}/deleted`);
      url.searchParams.set('type', 'all');
      url.searchParams.set('per_page', String(PER_PAGE));
      url.searchParams.set('page', String(page));
      const { data, info } = await get(
        url,
        { 'if-modified-since': since8601(since) },
        `deleted ${module} page ${page}`,
        signal,
      );
      const gone = data
        .map((record) => (isObject(record) ? text(record['id']) : undefined))
        .filter((id): id is string => id !== undefined)
        .map((id) => ({ id: `${PREFIX[module]}${id}`, phones: [], customData: {}, deleted: true }));
      if (gone.length > 0) yield gone;
      if (info['more_records'] !== true) return;
    }
  }

  function contactOf(module: ZohoModule, record: unknown, incremental: boolean): RawContact {
    const what = module.slice(0, -1).toLowerCase();
    if (!isObject(record)) return { phones: [], customData: {}, invalid: `the ${what} is not an object` };
    const raw = text(record['id']);
    if (!raw || !/^\d{1,30}$/.test(raw))
      return { phones: [], customData: {}, invalid: `the ${what} has no id` };
    const phones: RawContact['phones'] = [];
    for (const [field, label] of PHONES[module]) {
      const value = record[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return { phones: [], customData: {}, invalid: `${what} ${raw}: ${field} is not text` };
      const found = text(value);
      if (found) phones.push(label ? { value: found, label } : { value: found });
    }
    const id = `${PREFIX[module]}${raw}`;
    let name: string | undefined;
    let company: string | undefined;
    let country: string | undefined;
    let companyUri: string | undefined;
    if (module === 'Accounts') {
      company = text(record['Account_Name']);
      country = text(record['Billing_Country']);
      companyUri = `${web}/tab/Accounts/${raw}`;
    } else if (module === 'Contacts') {
      name = text(record['Full_Name']);
      const lookup = isObject(record['Account_Name']) ? record['Account_Name'] : undefined;
      const accountId = text(lookup?.['id']);
      const account = accountId ? accounts.get(accountId) : undefined;
      company = account?.name ?? text(lookup?.['name']);
      country = text(record['Mailing_Country']) ?? account?.country;
      if (accountId) companyUri = `${web}/tab/Accounts/${accountId}`;
    } else {
      name = text(record['Full_Name']);
      company = text(record['Company']);
      country = text(record['Country']);
    }
    const updatedAt = time(record['Modified_Time']);
    return {
      id,
      ...(name && { name }),
      ...(company && { company }),
      ...(country && { country }),
      contactUri: `${web}/tab/${module}/${raw}`,
      ...(companyUri && { companyUri }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      // A number removed in Zoho goes from the index.
      ...(incremental && phones.length === 0 && { deleted: true }),
    };
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since } = listOptions;
    const incremental = since !== undefined;
    const known = incremental ? accounts : new Map<string, Account>();
    // After a restart the accounts are not known yet: read them all, for the contacts' company and country.
    const accountsSince = incremental && accounts.size > 0 ? since : undefined;
    for (const module of ZOHO_ORDER) {
      const reading = config.modules.includes(module);
      if (module === 'Accounts' ? !reading && !config.modules.includes('Contacts') : !reading) continue;
      for await (const page of records(module, module === 'Accounts' ? accountsSince : since, signal)) {
        const contacts = page.map((record) => contactOf(module, record, incremental));
        if (module === 'Accounts') {
          for (const contact of contacts) {
            if (contact.invalid || !contact.id) continue;
            known.set(contact.id.slice(PREFIX.Accounts.length), {
              ...(contact.company && { name: contact.company }),
              ...(contact.country && { country: contact.country }),
            });
          }
          accounts = known;
          if (!reading) continue;
        }
        const shown =
          module === 'Accounts' && !incremental
            ? contacts.filter((contact) => contact.invalid || contact.phones.length > 0)
            : contacts;
        if (shown.length > 0) yield shown;
      }
      if (incremental && reading) yield* deleted(module, since, signal);
    }
    accounts = known;
  }

  return {
    type: 'zoho',
    name: config.name,
    budget: () => client.budget(),
    list,
    async close() {
      closed = true;
    },
  };
}

/** Accounts first: contacts take their company and country from them. */
const ZOHO_ORDER: readonly ZohoModule[] = ['Accounts', 'Leads', 'Contacts'];
