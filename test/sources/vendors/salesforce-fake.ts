import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Salesforce's REST API (version 62.0), written from its published REST API
 * Developer Guide and Object Reference (see salesforce.schema.json for the extract and its source):
 * `GET /services/data/v62.0/query` and `/queryAll` with the SOQL callcard sends (`SELECT fields
 * FROM object [WHERE cond AND ...]`, conditions `field = value`, `field >= datetime`, `field IN
 * (...)`; relationship fields `Account.Name`), pages of `pageSize` records with `nextRecordsUrl`,
 * `GET /search` with SOSL `FIND {a OR b} IN PHONE FIELDS RETURNING Object(fields [WHERE ...] [LIMIT
 * n]), ...`, `POST /sobjects/Task` and `PATCH /sobjects/Task/{id}`; the OAuth2 token endpoint at
 * `/services/oauth2/token` (client credentials). A wrong token: 401 `INVALID_SESSION_ID`.
 * Requests and answers are checked against the extract. Simplifications: a phone field matches a
 * search term when its digits end with the term's (Salesforce's own phone matching is not
 * published in detail); `query` leaves out deleted records and `queryAll` gives them, as documented,
 * without a recycle bin's expiry.
 */

export type SalesforceRecord = Record<string, unknown> & { Id: string };

export const SALESFORCE_TOKEN = '00D000000000001!AQ4AQFakeSessionToken';
const VERSION = 'v62.0';
const BASE = `/services/data/${VERSION}`;

/** An 18-character Salesforce id: the object's key prefix (`003` Contact, `001` Account, `00Q` Lead, `00T` Task) and a number. */
export const sfId = (prefix: string, n: number) => `${prefix}${String(n).padStart(12, '0')}AAA`;

/** Salesforce's time format: `2026-11-26T10:00:00.000+0000`. */
export const sfTime = (iso: string) => new Date(iso).toISOString().replace('Z', '+0000');

const PHONE_TYPE_FIELDS = new Set([
  'Phone',
  'MobilePhone',
  'HomePhone',
  'OtherPhone',
  'AssistantPhone',
  'Fax',
]);

const check = schemaOf('./salesforce.schema.json');

export interface SalesforceFake extends FakeVendor {
  readonly objects: Record<'Account' | 'Contact' | 'Lead' | 'Task', SalesforceRecord[]>;
  /** Records given in listings as they are, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
  /** SOQL and SOSL statements received. */
  readonly statements: string[];
}

interface Condition {
  readonly field: string;
  readonly test: (value: unknown) => boolean;
}

function literal(text: string): unknown {
  const value = text.trim();
  if (value === 'true' || value === 'false') return value === 'true';
  if (value === 'null') return null;
  const quoted = /^'((?:[^'\\]|\\.)*)'$/.exec(value);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return Date.parse(value);
  throw new Error(`the fake cannot read the SOQL value ${value}`);
}

function conditionsOf(where: string | undefined): Condition[] {
  if (!where) return [];
  return where.split(/\s+AND\s+/i).map((part) => {
    const inList = /^(\w+)\s+IN\s+\((.*)\)$/i.exec(part.trim());
    if (inList) {
      const values = inList[2]!.split(',').map(literal);
      return { field: inList[1]!, test: (value) => values.includes(value) };
    }
    const compare = /^(\w+)\s*(=|>=|>)\s*(.+)$/.exec(part.trim());
    if (!compare) throw new Error(`the fake cannot read the SOQL condition ${part}`);
    const [, field, operator, raw] = compare as unknown as [string, string, string, string];
    const expected = literal(raw);
    // A checkbox field is false when unset.
    const unset = typeof expected === 'boolean' ? false : null;
    if (operator === '=') return { field, test: (value) => (value ?? unset) === expected };
    return {
      field,
      test: (value) => {
        const ms = typeof value === 'string' ? Date.parse(value.replace('+0000', 'Z')) : Number.NaN;
        return operator === '>=' ? ms >= (expected as number) : ms > (expected as number);
      },
    };
  });
}

export async function startSalesforceFake(options: { pageSize?: number } = {}): Promise<SalesforceFake> {
  const pageSize = options.pageSize ?? 2000;
  const objects: SalesforceFake['objects'] = { Account: [], Contact: [], Lead: [], Task: [] };
  const extraContacts: unknown[] = [];
  const statements: string[] = [];
  const cursors = new Map<string, unknown[]>();
  let violations: string[] = [];
  let locators = 0;
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  const attributes = (type: string, id: string) => ({ type, url: `${BASE}/sobjects/${type}/${id}` });

  /** A record as Salesforce answers it: the fields asked for, null when unset; relationship fields nested. */
  function shown(type: string, record: SalesforceRecord, fields: readonly string[]) {
    const out: Record<string, unknown> = { attributes: attributes(type, record.Id) };
    for (const field of fields) {
      const [first, second] = field.split('.');
      if (second === undefined) {
        out[first!] = record[first!] ?? (first === 'IsDeleted' || first === 'IsConverted' ? false : null);
        continue;
      }
      const parent = objects.Account.find((account) => account.Id === record[`${first}Id`]);
      if (!parent) {
        out[first!] = null;
        continue;
      }
      const nested = (out[first!] as Record<string, unknown> | undefined) ?? {
        attributes: attributes(first!, parent.Id),
      };
      nested[second] = parent[second] ?? null;
      out[first!] = nested;
    }
    return out;
  }

  function select(type: string, fieldsText: string, where: string | undefined, all: boolean) {
    const store = objects[type as keyof typeof objects];
    if (!store) throw new Error(`the fake has no object ${type}`);
    const fields = fieldsText.split(',').map((field) => field.trim());
    const conditions = conditionsOf(where);
    return store
      .filter((record) => all || record['IsDeleted'] !== true)
      .filter((record) => conditions.every((condition) => condition.test(record[condition.field])))
      .map((record) => shown(type, record, fields));
  }

  function page(all: unknown[], start: number, locator: string, kind: string): Reply {
    const records = all.slice(start, start + pageSize);
    const done = start + pageSize >= all.length;
    const body: Record<string, unknown> = { totalSize: all.length, done, records };
    if (!done) body['nextRecordsUrl'] = `${BASE}/${kind}/${locator}-${start + pageSize}`;
    verify('queryResult', body);
    return { status: 200, body };
  }

  function query(request: Recorded, kind: 'query' | 'queryAll'): Reply {
    const soql = request.url.searchParams.get('q') ?? '';
    statements.push(soql);
    const parsed = /^SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+))?$/i.exec(soql);
    if (!parsed)
      return { status: 400, body: [{ message: 'unexpected token', errorCode: 'MALFORMED_QUERY' }] };
    const [, fields, type, where] = parsed as unknown as [string, string, string, string | undefined];
    const all = select(type, fields, where, kind === 'queryAll');
    const locator = `01gFAKE${++locators}`;
    cursors.set(locator, all);
    const first = page(all, 0, locator, kind);
    if (type !== 'Contact' || extraContacts.length === 0) return first;
    // Malformed records, past the schema check, on the first page.
    const body = first.body as { records: unknown[] };
    return { ...first, body: { ...body, records: [...body.records, ...extraContacts] } };
  }

  function search(request: Recorded): Reply {
    const sosl = request.url.searchParams.get('q') ?? '';
    statements.push(sosl);
    const parsed = /^FIND \{(.+?)\} IN PHONE FIELDS RETURNING (.+)$/.exec(sosl);
    if (!parsed)
      return { status: 400, body: [{ message: 'unexpected token', errorCode: 'MALFORMED_SEARCH' }] };
    const terms = parsed[1]!.split(/\s+OR\s+/).map((term) => term.replace(/\D/g, ''));
    const found: unknown[] = [];
    for (const part of parsed[2]!.matchAll(/(\w+)\(([^)]*)\)/g)) {
      const [, type, inner] = part as unknown as [string, string, string];
      const clause = /^(.+?)(?:\s+WHERE\s+(.+?))?(?:\s+LIMIT\s+(\d+))?$/.exec(inner)!;
      const limit = clause[3] ? Number(clause[3]) : 2000;
      const matching = select(type, clause[1]!, clause[2], false).filter((record) =>
        Object.entries(record).some(
          ([field, value]) =>
            PHONE_TYPE_FIELDS.has(field) &&
            typeof value === 'string' &&
            terms.some((term) => term !== '' && value.replace(/\D/g, '').endsWith(term)),
        ),
      );
      found.push(...matching.slice(0, limit));
    }
    const body = { searchRecords: found };
    verify('searchResult', body);
    return { status: 200, body };
  }

  const fake = await startFakeVendor({
    tokenPath: '/services/oauth2/token',
    authorized: (headers) => headers.authorization === `Bearer ${SALESFORCE_TOKEN}`,
    unauthorized: {
      status: 401,
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    },
    route(request) {
      const path = request.url.pathname;
      if (!path.startsWith(`${BASE}/`)) return undefined;
      const rest = path.slice(BASE.length);
      if (request.method === 'GET' && (rest === '/query' || rest === '/queryAll'))
        return query(request, rest === '/query' ? 'query' : 'queryAll');
      const more = /^\/(query|queryAll)\/(\w+)-(\d+)$/.exec(rest);
      if (request.method === 'GET' && more) {
        const all = cursors.get(more[2]!);
        if (!all)
          return { status: 404, body: [{ message: 'invalid locator', errorCode: 'INVALID_QUERY_LOCATOR' }] };
        return page(all, Number(more[3]), more[2]!, more[1]!);
      }
      if (request.method === 'GET' && rest === '/search') return search(request);
      if (request.method === 'POST' && rest === '/sobjects/Task') {
        verify('taskInput', request.body);
        const id = sfId('00T', objects.Task.length + 1);
        objects.Task.push({
          ...(request.body as Record<string, unknown>),
          Id: id,
          SystemModstamp: sfTime(new Date().toISOString()),
        });
        const body = { id, success: true, errors: [] };
        verify('saveResult', body);
        return { status: 201, body };
      }
      const one = /^\/sobjects\/Task\/(\w+)$/.exec(rest);
      if (request.method === 'PATCH' && one) {
        verify('taskInput', request.body);
        const found = objects.Task.find((task) => task.Id === one[1]);
        if (!found) return { status: 404, body: [{ message: 'not found', errorCode: 'NOT_FOUND' }] };
        Object.assign(found, request.body as Record<string, unknown>);
        return { status: 204 };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { objects, extraContacts, statements });
}
