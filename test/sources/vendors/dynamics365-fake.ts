import { createHash } from 'node:crypto';
import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for the Dataverse Web API (v9.2) of Dynamics 365, written from Microsoft's
 * published Web API reference (see dynamics365.schema.json for the extract and its source):
 * `GET /api/data/v9.2/{contacts,accounts}` with `$select` and `Prefer: odata.maxpagesize`, pages by
 * `@odata.nextLink`; with `Prefer: odata.track-changes` the last page carries an
 * `@odata.deltaLink`, and following it gives the rows changed since and `$deletedEntity` rows for
 * those removed (`$filter` is refused with change tracking, as documented); `$filter` of the
 * form `_parentcustomerid_value eq <guid>` or `activityid eq <guid>`; the formatted-value and
 * lookup annotations of `_parentcustomerid_value` when `odata.include-annotations` asks; `POST
 * /phonecalls`. The token comes from Entra ID's v2.0 endpoint of the tenant (client credentials),
 * at `/<tenant>/oauth2/v2.0/token`. Simplifications: a delta gives changes by a counter of its
 * own, not Dataverse's row versions; `refuseDeltas()` makes delta links answer 400, as a link
 * Dataverse no longer takes does.
 */

export type Row = Record<string, unknown>;
type Table = 'accounts' | 'contacts' | 'phonecalls';

export const DYNAMICS_TENANT = 'contoso.onmicrosoft.com';
const BASE = '/api/data/v9.2';
const KEYS: Record<Table, string> = {
  accounts: 'accountid',
  contacts: 'contactid',
  phonecalls: 'activityid',
};

/** A GUID made from a seed, for readable tests. */
export const guid = (seed: string) => {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

const check = schemaOf('./dynamics365.schema.json');

export interface DynamicsFake extends FakeVendor {
  readonly tables: Record<Table, Row[]>;
  /** Adds or changes a row (its `modifiedon` set, its change counted for deltas). */
  put(table: Table, row: Row, modifiedon?: string): void;
  /** Deletes a row (a `$deletedEntity` in the next delta). */
  remove(table: Table, id: string): void;
  /** Rows given in contact listings as they are, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
  refuseDeltas(): void;
}

export async function startDynamicsFake(): Promise<DynamicsFake> {
  const tables: Record<Table, Row[]> = { accounts: [], contacts: [], phonecalls: [] };
  const versions = new Map<string, number>();
  const deleted: { table: Table; id: string; at: number }[] = [];
  const extraContacts: unknown[] = [];
  const cursors = new Map<string, unknown[]>();
  let counter = 0;
  let cursorCount = 0;
  let refusing = false;
  let violations: string[] = [];
  let origin = '';
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  function put(table: Table, row: Row, modifiedon = '2026-11-02T08:00:00Z') {
    const key = KEYS[table];
    const found = tables[table].find((existing) => existing[key] === row[key]);
    const stored = { ...row, modifiedon };
    if (found) {
      for (const name of Object.keys(found)) delete found[name];
      Object.assign(found, stored);
    } else tables[table].push(stored);
    versions.set(String(row[key]), ++counter);
  }

  function remove(table: Table, id: string) {
    tables[table] = tables[table].filter((row) => row[KEYS[table]] !== id);
    deleted.push({ table, id, at: ++counter });
  }

  function shown(table: Table, row: Row, select: string[], annotate: boolean): Row {
    const out: Row = { '@odata.etag': `W/"${versions.get(String(row[KEYS[table]])) ?? 0}"` };
    for (const field of select) {
      out[field] = row[field] ?? null;
      if (field === '_parentcustomerid_value' && annotate && row[field]) {
        const parent = tables.accounts.find((account) => account['accountid'] === row[field]);
        const person = tables.contacts.find((contact) => contact['contactid'] === row[field]);
        out[`${field}@OData.Community.Display.V1.FormattedValue`] = parent?.['name'] ?? person?.['fullname'];
        out[`${field}@Microsoft.Dynamics.CRM.lookuplogicalname`] = parent ? 'account' : 'contact';
      }
    }
    return out;
  }

  function page(
    all: unknown[],
    start: number,
    size: number,
    key: string,
    table: Table,
    delta?: string,
  ): Reply {
    const body: Record<string, unknown> = {
      '@odata.context': `${origin}${BASE}/$metadata#${table}`,
      value: all.slice(start, start + size),
    };
    if (start + size < all.length)
      body['@odata.nextLink'] = `${origin}${BASE}/${table}?$skiptoken=${key}-${start + size}`;
    else if (delta !== undefined) body['@odata.deltaLink'] = delta;
    verify('collection', body);
    return { status: 200, body };
  }

  const deltas = new Map<string, string | undefined>();

  function list(request: Recorded, table: Table): Reply {
    const params = request.url.searchParams;
    const preferText = String(request.headers['prefer'] ?? '');
    const size = Number(/odata\.maxpagesize=(\d+)/.exec(preferText)?.[1] ?? 5000);
    const tracked = preferText.includes('odata.track-changes');
    const annotate = preferText.includes('odata.include-annotations');
    const skip = params.get('$skiptoken');
    if (skip) {
      const [key, offset] = skip.split('-') as [string, string];
      const all = cursors.get(key);
      if (!all) return { status: 400, body: { error: { code: '0x80060888', message: 'bad skiptoken' } } };
      return page(all, Number(offset), size, key, table, deltas.get(key));
    }
    const filter = params.get('$filter');
    if (filter && tracked)
      return {
        status: 400,
        body: { error: { code: '0x80060888', message: '$filter is not supported with change tracking' } },
      };
    const select = (params.get('$select') ?? '').split(',').filter(Boolean);
    const token = params.get('$deltatoken');
    if (token !== null && refusing)
      return {
        status: 400,
        body: { error: { code: '0x80044352', message: 'The delta token is not valid' } },
      };
    let rows = tables[table];
    if (filter) {
      const match = /^(\w+) eq ([0-9a-f-]{36})$/.exec(filter);
      if (!match) throw new Error(`the fake cannot read the filter ${filter}`);
      rows = rows.filter((row) => row[match[1]!] === match[2]);
    }
    if (token !== null)
      rows = rows.filter((row) => (versions.get(String(row[KEYS[table]])) ?? 0) > Number(token));
    const all: unknown[] = rows.map((row) => shown(table, row, select, annotate));
    if (token !== null) {
      for (const gone of deleted.filter((entry) => entry.table === table && entry.at > Number(token)))
        all.push({
          '@odata.context': `${origin}${BASE}/$metadata#${table}/$deletedEntity`,
          id: gone.id,
          reason: 'deleted',
        });
    }
    const key = `c${++cursorCount}`;
    cursors.set(key, all);
    const delta = tracked
      ? `${origin}${BASE}/${table}?$select=${select.join(',')}&$deltatoken=${counter}`
      : undefined;
    deltas.set(key, delta);
    const reply = page(all, 0, size, key, table, delta);
    if (table !== 'contacts' || extraContacts.length === 0) return reply;
    const body = reply.body as { value: unknown[] };
    return { ...reply, body: { ...body, value: [...body.value, ...extraContacts] } };
  }

  const fake = await startFakeVendor({
    tokenPath: `/${DYNAMICS_TENANT}/oauth2/v2.0/token`,
    authorized: () => false,
    unauthorized: {
      status: 401,
      body: { error: { code: '0x80072560', message: 'The user is not a member of the organization.' } },
    },
    route(request) {
      const path = request.url.pathname;
      const table = /^\/api\/data\/v9\.2\/(accounts|contacts|phonecalls)$/.exec(path)?.[1] as
        | Table
        | undefined;
      if (!table) return undefined;
      if (request.method === 'GET') return list(request, table);
      if (request.method === 'POST' && table === 'phonecalls') {
        verify('phonecallInput', request.body);
        const row = { ...(request.body as Row) };
        row['activityid'] ??= guid(`phonecall-${tables.phonecalls.length}`);
        put('phonecalls', row, new Date().toISOString());
        return {
          status: 204,
          headers: { 'odata-entityid': `${origin}${BASE}/phonecalls(${String(row['activityid'])})` },
        };
      }
      return undefined;
    },
  });
  origin = fake.url;
  violations = fake.violations;
  return Object.assign(fake, {
    tables,
    put,
    remove,
    extraContacts,
    refuseDeltas: () => {
      refusing = true;
    },
  });
}
