import type { RawContact } from '../../contacts/raw-contact.js';
import { clientCredentialsOrAuth } from '../../net/auth-schema.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { type ConnectorTiming, connectorClient } from '../connector-client.js';
import { FullListingNeeded, type ListOptions, type Source, type SourceDeps } from '../types.js';
import type { Dynamics365SourceSettings } from './schema.js';

export { dynamics365SourceSchema } from './schema.js';

export type Dynamics365SourceConfig = Dynamics365SourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface Dynamics365SourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The clock and the wait of a sync paced by the vendor's limits. */
  readonly timing?: ConnectorTiming;
}

type Table = 'accounts' | 'contacts';

interface Account {
  readonly name?: string;
  readonly country?: string;
}

const PHONES: Record<Table, readonly (readonly [string, string | undefined])[]> = {
  accounts: [
    ['telephone1', undefined],
    ['telephone2', 'other'],
  ],
  contacts: [
    ['telephone1', undefined],
    ['mobilephone', 'mobile'],
    ['telephone2', 'home'],
    ['telephone3', 'other'],
  ],
};

const SELECT: Record<Table, string> = {
  accounts: ['accountid', 'name', 'address1_country', 'modifiedon', ...PHONES.accounts.map(([f]) => f)].join(
    ',',
  ),
  contacts: [
    'contactid',
    'fullname',
    'address1_country',
    '_parentcustomerid_value',
    'modifiedon',
    ...PHONES.contacts.map(([f]) => f),
  ].join(','),
};

const FORMATTED = '@OData.Community.Display.V1.FormattedValue';
const LOOKUP_TABLE = '@Microsoft.Dynamics.CRM.lookuplogicalname';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const time = (value: unknown): number | undefined => {
  const found = text(value);
  if (!found) return undefined;
  const ms = Date.parse(found);
  return Number.isFinite(ms) ? ms : undefined;
};

/** A row the delta gives for a record removed since: `{"@odata.context": ".../$deletedEntity", id, reason}`. */
const deletedId = (record: Record<string, unknown>): string | undefined =>
  typeof record['@odata.context'] === 'string' && record['@odata.context'].endsWith('/$deletedEntity')
    ? text(record['id'])
    : undefined;

/**
 * Dynamics 365 / Dataverse contacts and accounts, read by the Web API (OData v4) with change
 * tracking: the first sync (and every full one) lists each table with `Prefer:
 * odata.track-changes`, page by page (`@odata.nextLink`), and keeps the `@odata.deltaLink` it ends
 * with, in the store with the contacts it led to; an incremental sync, in this process or after a
 * restart, follows that link, which gives the records changed since and those removed
 * (`$deletedEntity`). A contact's company and the country its national numbers are read in
 * come from its own address, else from its parent account.
 */
export function createDynamics365Source(
  config: Dynamics365SourceConfig,
  deps: SourceDeps,
  options: Dynamics365SourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`dynamics365 source "${config.name}": ${message}`);
  };
  const origin = new URL(config.url).origin;
  let client: ReturnType<typeof connectorClient>;
  try {
    if (config.clientId !== undefined && config.tenantId === undefined)
      throw new Error('needs tenantId (the Entra ID tenant the app is registered in) with clientId');
    const authority = config.authorityUrl.replace(/\/+$/, '');
    client = connectorClient(
      config,
      clientCredentialsOrAuth(config, {
        tokenUrl: `${authority}/${config.tenantId}/oauth2/v2.0/token`,
        scope: `${origin}/.default`,
        clientAuth: 'body',
      }),
      deps,
      {
        env: options.env,
        limits: 'dynamics365',
        ...(options.timing && { timing: options.timing }),
        headers: { 'odata-version': '4.0', 'odata-maxversion': '4.0' },
      },
    );
  } catch (error) {
    return fail((error as Error).message);
  }
  const api = `${origin}/api/data/v${config.apiVersion}`;
  const link = (table: Table, id: string) =>
    `${origin}/main.aspx?pagetype=entityrecord&etn=${table === 'accounts' ? 'account' : 'contact'}&id=${id}`;
  const prefer = (tracked: boolean) =>
    [
      ...(tracked ? ['odata.track-changes'] : []),
      `odata.maxpagesize=${config.pageSize}`,
      'odata.include-annotations="*"',
    ].join(',');
  /**
   * Accounts by id, for their contacts' company and country: every one after a full listing in
   * this process (`allAccounts`), else those read since (a restarted process's incremental sync
   * asks the accounts of the contacts it reads).
   */
  let accounts = new Map<string, Account>();
  let allAccounts = false;
  let closed = false;

  const open = () => {
    if (closed) throw new Error(`dynamics365 source "${config.name}" is closed`);
  };

  /**
   * Every page from `first`: its rows, then the delta link it ends with (for a tracked listing).
   * Links Dataverse gives are followed on the environment only: credentials go nowhere else.
   */
  async function* pages(
    first: URL,
    tracked: boolean,
    what: string,
    signal: AbortSignal,
  ): AsyncGenerator<unknown[], string | undefined> {
    let url = first;
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      open();
      const named = `${what} page ${page}`;
      const { json } = await client.send(
        { method: 'GET', url, headers: { prefer: prefer(tracked) }, what: named },
        signal,
        false,
      );
      if (!isObject(json) || !Array.isArray(json['value']))
        throw new RestRequestError(`${named}: the answer has no value list`);
      yield json['value'];
      const next = text(json['@odata.nextLink']);
      if (!next) return text(json['@odata.deltaLink']);
      const following = new URL(next);
      if (following.origin !== origin || seen.has(following.href))
        throw new RestRequestError(`${named}: Dataverse gave a next page that is not one`);
      seen.add(following.href);
      url = following;
    }
  }

  function invalid(table: Table, record: unknown): RawContact | undefined {
    const what = table === 'accounts' ? 'account' : 'contact';
    if (!isObject(record)) return { phones: [], customData: {}, invalid: `the ${what} is not an object` };
    const id = text(record[table === 'accounts' ? 'accountid' : 'contactid']);
    if (!id || !GUID.test(id)) return { phones: [], customData: {}, invalid: `the ${what} has no id` };
    for (const [field] of PHONES[table]) {
      const value = record[field];
      if (value !== undefined && value !== null && typeof value !== 'string')
        return { phones: [], customData: {}, invalid: `${what} ${id}: ${field} is not text` };
    }
    return undefined;
  }

  function phonesOf(table: Table, record: Record<string, unknown>): RawContact['phones'] {
    const phones: RawContact['phones'] = [];
    for (const [field, label] of PHONES[table]) {
      const value = text(record[field]);
      if (value) phones.push(label ? { value, label } : { value });
    }
    return phones;
  }

  const accountOf = (record: Record<string, unknown>): Account => {
    const name = text(record['name']);
    const country = text(record['address1_country']);
    return { ...(name && { name }), ...(country && { country }) };
  };

  function accountContact(record: Record<string, unknown>, incremental: boolean): RawContact {
    const id = text(record['accountid'])!;
    const account = accountOf(record);
    const phones = phonesOf('accounts', record);
    const updatedAt = time(record['modifiedon']);
    return {
      id: `account-${id}`,
      ...(account.name && { company: account.name }),
      ...(account.country && { country: account.country }),
      contactUri: link('accounts', id),
      companyUri: link('accounts', id),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      // A number removed in Dataverse goes from the index.
      ...(incremental && phones.length === 0 && { deleted: true }),
    };
  }

  function contactOf(record: unknown, incremental: boolean): RawContact {
    const bad = invalid('contacts', record);
    if (bad) return bad;
    const fields = record as Record<string, unknown>;
    const id = text(fields['contactid'])!;
    const parentId = text(fields['_parentcustomerid_value']);
    const parentIsAccount = fields[`_parentcustomerid_value${LOOKUP_TABLE}`] !== 'contact';
    const account = parentId && parentIsAccount ? accounts.get(parentId) : undefined;
    const name = text(fields['fullname']);
    const company =
      account?.name ?? (parentIsAccount ? text(fields[`_parentcustomerid_value${FORMATTED}`]) : undefined);
    const country = text(fields['address1_country']) ?? account?.country;
    const phones = phonesOf('contacts', fields);
    const updatedAt = time(fields['modifiedon']);
    return {
      id,
      ...(name && { name }),
      ...(company && { company }),
      ...(country && { country }),
      contactUri: link('contacts', id),
      ...(parentId && parentIsAccount && { companyUri: link('accounts', parentId) }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
      ...(incremental && phones.length === 0 && { deleted: true }),
    };
  }

  /** A table's rows: by its delta link when one is held, else a new tracked listing. */
  async function* changes(
    table: Table,
    held: string | undefined,
    signal: AbortSignal,
    done: (delta: string | undefined) => void,
  ): AsyncGenerator<unknown[]> {
    if (held) {
      const following = pages(new URL(held), true, `changes of ${table}`, signal);
      let first = true;
      try {
        for (;;) {
          const step = await following.next();
          if (step.done) return done(step.value);
          first = false;
          yield step.value;
        }
      } catch (error) {
        // A delta link Dataverse no longer takes (change tracking turned off and on): list anew.
        const status = error instanceof RestRequestError ? error.status : undefined;
        if (!first || (status !== 400 && status !== 410)) throw error;
        deps.logger.info({ source: config.name, table }, 'the delta link was refused: listing anew');
      }
    }
    const url = new URL(`${api}/${table}`);
    url.searchParams.set('$select', SELECT[table]);
    const listing = pages(url, true, `list ${table}`, signal);
    for (;;) {
      const step = await listing.next();
      if (step.done) return done(step.value);
      yield step.value;
    }
  }

  /** A delta link kept in the store, when it is the environment's (the settings may have changed since). */
  function heldLink(kept: Readonly<Record<string, string>> | undefined, table: Table): string {
    const link = kept?.[table];
    let url: URL | undefined;
    try {
      url = link ? new URL(link) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== origin || !url.pathname.startsWith(`/api/data/v${config.apiVersion}/`))
      throw new FullListingNeeded(`no delta link kept for ${table}`);
    return url.href;
  }

  /** The accounts of contacts whose account is not known yet (asked by id), added to `known`. */
  async function askAccounts(page: unknown[], known: Map<string, Account>, signal: AbortSignal) {
    const missing = new Set<string>();
    for (const record of page) {
      if (!isObject(record) || record[`_parentcustomerid_value${LOOKUP_TABLE}`] === 'contact') continue;
      const parent = text(record['_parentcustomerid_value']);
      if (parent && GUID.test(parent) && !known.has(parent)) missing.add(parent);
    }
    for (const id of missing) {
      const url = new URL(`${api}/accounts`);
      url.searchParams.set('$select', SELECT.accounts);
      url.searchParams.set('$filter', `accountid eq ${id}`);
      for await (const rows of pages(url, false, 'the account of a contact', signal)) {
        for (const row of rows)
          if (isObject(row) && text(row['accountid']) === id) known.set(id, accountOf(row));
      }
      // An account that is gone is not asked again in this sync.
      if (!known.has(id)) known.set(id, {});
    }
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const { signal, since, changeTokens, keepChangeTokens } = listOptions;
    const incremental = since !== undefined;
    const held = incremental
      ? { accounts: heldLink(changeTokens, 'accounts'), contacts: heldLink(changeTokens, 'contacts') }
      : undefined;
    const next: Partial<Record<Table, string>> = {};
    const known = incremental ? accounts : new Map<string, Account>();
    const moved: string[] = [];
    for await (const page of changes('accounts', held?.accounts, signal, (delta) => {
      if (delta) next.accounts = delta;
    })) {
      const contacts: RawContact[] = [];
      for (const record of page) {
        if (isObject(record) && deletedId(record)) {
          const id = deletedId(record)!;
          known.delete(id);
          if (config.accounts)
            contacts.push({ id: `account-${id}`, phones: [], customData: {}, deleted: true });
          continue;
        }
        const bad = invalid('accounts', record);
        if (bad) {
          if (config.accounts) contacts.push(bad);
          continue;
        }
        const fields = record as Record<string, unknown>;
        const id = text(fields['accountid'])!;
        const before = accounts.get(id);
        const now = accountOf(fields);
        known.set(id, now);
        // An account not known before (this process has not read them all) may have changed too.
        if (
          incremental &&
          (before ? before.name !== now.name || before.country !== now.country : !allAccounts)
        )
          moved.push(id);
        if (!config.accounts) continue;
        const contact = accountContact(fields, incremental);
        if (contact.phones.length > 0 || contact.deleted) contacts.push(contact);
      }
      if (contacts.length > 0) yield contacts;
    }
    accounts = known;
    allAccounts ||= !incremental;
    const seen = new Set<string>();
    const read = (page: unknown[]) =>
      page
        .map((record): RawContact => {
          const gone = isObject(record) ? deletedId(record) : undefined;
          return gone
            ? { id: gone, phones: [], customData: {}, deleted: true }
            : contactOf(record, incremental);
        })
        .filter((contact) => {
          if (contact.id === undefined || contact.invalid) return true;
          if (seen.has(contact.id)) return false;
          seen.add(contact.id);
          return true;
        });
    for await (const page of changes('contacts', held?.contacts, signal, (delta) => {
      if (delta) next.contacts = delta;
    })) {
      if (!allAccounts) await askAccounts(page, known, signal);
      const found = read(page);
      if (found.length > 0) yield found;
    }
    // A renamed or moved account changes its contacts' company and country: read them again.
    for (const id of moved) {
      const url = new URL(`${api}/contacts`);
      url.searchParams.set('$select', SELECT.contacts);
      url.searchParams.set('$filter', `_parentcustomerid_value eq ${id}`);
      for await (const page of pages(url, false, 'contacts of a changed account', signal)) {
        if (!allAccounts) await askAccounts(page, known, signal);
        const found = read(page);
        if (found.length > 0) yield found;
      }
    }
    // Only a sync that read everything moves on to the new delta links, kept with its contacts.
    keepChangeTokens?.({ ...(incremental && held), ...next });
  }

  return {
    type: 'dynamics365',
    name: config.name,
    budget: () => client.budget(),
    tracksChanges: true,
    list,
    async close() {
      closed = true;
    },
  };
}
