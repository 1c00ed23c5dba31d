import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Zoho CRM's API v8, written from Zoho's published OpenAPI document for
 * Records (github.com/zoho/crm-oas, v8.0/record.json; see zoho.schema.json for the extract):
 * `GET /crm/v8/{module}` with `fields`, `per_page` (at most 200) and `page_token`, `info` with
 * `more_records` and `next_page_token`, 204 when nothing matches; the `If-Modified-Since` header
 * (records modified after it); `GET /crm/v8/{module}/deleted` with `type`, `page`, `per_page` and
 * `If-Modified-Since`; `POST /crm/v8/Calls` and `GET /crm/v8/Calls/search` with `criteria`
 * `(Description:starts_with:...)`/`(Subject:equals:...)`. Tokens are taken as
 * `Authorization: Zoho-oauthtoken <token>` (an OAuth2 token from `/token`). Requests and answers
 * are checked against the extract. Simplification: page tokens never expire.
 */

export type ZohoRow = Record<string, unknown> & { id: string };
type Module = 'Accounts' | 'Contacts' | 'Leads' | 'Calls';

const check = schemaOf('./zoho.schema.json');

/** Zoho's time format: `2026-11-02T09:00:00+01:00`, here in UTC. */
export const zohoTime = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, '+00:00');

export interface ZohoFake extends FakeVendor {
  readonly modules: Record<Module, ZohoRow[]>;
  put(module: Module, row: ZohoRow, modified?: string): void;
  remove(module: Module, id: string, at: string): void;
  readonly extraContacts: unknown[];
}

export async function startZohoFake(): Promise<ZohoFake> {
  const modules: Record<Module, ZohoRow[]> = { Accounts: [], Contacts: [], Leads: [], Calls: [] };
  const deleted: { module: Module; id: string; at: string }[] = [];
  const extraContacts: unknown[] = [];
  const cursors = new Map<string, unknown[]>();
  let cursorCount = 0;
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  function put(module: Module, row: ZohoRow, modified = '2026-11-02T08:00:00Z') {
    const stored = { ...row, Modified_Time: zohoTime(modified) };
    const index = modules[module].findIndex((existing) => existing.id === row.id);
    if (index >= 0) modules[module][index] = stored;
    else modules[module].push(stored);
  }

  function remove(module: Module, id: string, at: string) {
    modules[module] = modules[module].filter((row) => row.id !== id);
    deleted.push({ module, id, at: zohoTime(at) });
  }

  const sinceOf = (request: Recorded) => {
    const header = request.headers['if-modified-since'];
    return typeof header === 'string' ? Date.parse(header) : undefined;
  };

  function list(request: Recorded, module: Module): Reply {
    const params = request.url.searchParams;
    const perPage = Number(params.get('per_page') ?? 200);
    if (!(perPage >= 1 && perPage <= 200))
      return {
        status: 400,
        body: { code: 'INVALID_DATA', status: 'error', message: 'per_page', details: {} },
      };
    const fields = (params.get('fields') ?? '').split(',').filter(Boolean);
    if (fields.length === 0)
      return {
        status: 400,
        body: {
          code: 'REQUIRED_PARAM_MISSING',
          status: 'error',
          message: 'required param is missing',
          details: { param_name: 'fields' },
        },
      };
    const token = params.get('page_token');
    let all: unknown[];
    let start = 0;
    let key: string;
    if (token) {
      const [found, offset] = token.split('.') as [string, string];
      all = cursors.get(found)!;
      key = found;
      start = Number(offset);
    } else {
      const since = sinceOf(request);
      all = modules[module]
        .filter((row) => since === undefined || Date.parse(String(row['Modified_Time'])) > since)
        .map((row) =>
          Object.fromEntries([['id', row.id], ...fields.map((field) => [field, row[field] ?? null])]),
        );
      for (const row of all) verify('zohoRecord', row);
      if (module === 'Contacts') all.push(...extraContacts);
      key = `t${++cursorCount}`;
      cursors.set(key, all);
    }
    if (all.length === 0) return { status: 204 };
    const more = start + perPage < all.length;
    const body = {
      data: all.slice(start, start + perPage),
      info: {
        per_page: perPage,
        count: Math.min(perPage, all.length - start),
        page: 1,
        more_records: more,
        ...(more && { next_page_token: `${key}.${start + perPage}` }),
        sort_by: 'id',
        sort_order: 'desc',
      },
    };
    if (extraContacts.length === 0) verify('recordsPage', body);
    return { status: 200, body };
  }

  function deletedList(request: Recorded, module: Module): Reply {
    const since = sinceOf(request);
    const perPage = Number(request.url.searchParams.get('per_page') ?? 200);
    const page = Number(request.url.searchParams.get('page') ?? 1);
    const all = deleted
      .filter((entry) => entry.module === module && (since === undefined || Date.parse(entry.at) > since))
      .map((entry) => ({ id: entry.id, type: 'recycle', display_name: 'x', deleted_time: entry.at }));
    if (all.length === 0) return { status: 204 };
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const body = {
      data: slice,
      info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < all.length },
    };
    verify('deletedPage', body);
    return { status: 200, body };
  }

  const fake = await startFakeVendor({
    authorized: () => false,
    unauthorized: {
      status: 401,
      body: { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' },
    },
    route(request) {
      const match = /^\/crm\/v8\/(Accounts|Contacts|Leads|Calls)(\/deleted|\/search)?$/.exec(
        request.url.pathname,
      );
      if (!match) return undefined;
      const module = match[1] as Module;
      if (request.method === 'GET' && !match[2]) return list(request, module);
      if (request.method === 'GET' && match[2] === '/deleted') return deletedList(request, module);
      if (request.method === 'GET' && match[2] === '/search' && module === 'Calls') {
        const criteria = request.url.searchParams.get('criteria') ?? '';
        const parsed = /^\(Subject:equals:(.*)\)$/.exec(criteria);
        if (!parsed)
          return {
            status: 400,
            body: { code: 'INVALID_QUERY', status: 'error', message: 'invalid query', details: {} },
          };
        const value = parsed[1]!.replace(/\\([(),])/g, '$1');
        const found = modules.Calls.filter((row) => row['Subject'] === value).map((row) => ({
          id: row.id,
          Subject: row['Subject'],
        }));
        if (found.length === 0) return { status: 204 };
        return {
          status: 200,
          body: { data: found, info: { per_page: 200, count: found.length, page: 1, more_records: false } },
        };
      }
      if (request.method === 'POST' && !match[2] && module === 'Calls') {
        verify('createBody', request.body);
        const input = (request.body as { data: Record<string, unknown>[] }).data[0]!;
        const id = String(5_725_767_000_000_000_001n + BigInt(modules.Calls.length));
        put('Calls', { ...input, id }, new Date().toISOString());
        const body = {
          data: [
            {
              code: 'SUCCESS',
              details: {
                Modified_Time: zohoTime(new Date().toISOString()),
                Created_Time: zohoTime(new Date().toISOString()),
                id,
              },
              message: 'record added',
              status: 'success',
            },
          ],
        };
        verify('createAnswer', body);
        return { status: 201, body };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { modules, put, remove, extraContacts });
}
