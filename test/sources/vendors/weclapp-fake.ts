import { type FakeVendor, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for weclapp's REST API v2, written from its published OpenAPI document (see
 * weclapp.schema.json for the extract and its source), at `/webapp/api/v2`: `GET /party` and
 * `GET /crmEvent` with `page`, `pageSize`, `sort` and weclapp's property filters
 * (`<property>-eq`, `-ge`, `-in` with a JSON list, `-like` with `%`), answering `{result: [...]}`;
 * `POST /crmEvent`. The API token goes in the `AuthenticationToken` header (a wrong one: 401).
 * Simplifications: only the filters callcard sends; `sort` only by id.
 */

export interface WeclappParty {
  id: string;
  partyType: 'ORGANIZATION' | 'PERSON';
  lastModifiedDate: number;
  [field: string]: unknown;
}

export const WECLAPP_TOKEN = 'wc-3f1b2c4d-5e6f-7a8b-9c0d-ef0123456789';
export const WECLAPP_API = '/webapp/api/v2';

const check = schemaOf('./weclapp.schema.json');

export interface WeclappFake extends FakeVendor {
  readonly parties: WeclappParty[];
  readonly events: Record<string, unknown>[];
  /** Parties given as they are in the first page of persons, past the schema (malformed ones). */
  readonly extraParties: unknown[];
  readonly api: string;
}

function matches(record: Record<string, unknown>, name: string, value: string): boolean {
  const [field, operator] = name.split(/-(?=[a-z]+$)/) as [string, string | undefined];
  const actual = record[field];
  switch (operator) {
    case 'eq':
      return String(actual) === value;
    case 'ge':
      return typeof actual === 'number' && actual >= Number(value);
    case 'in':
      return (JSON.parse(value) as unknown[]).map(String).includes(String(actual));
    case 'like': {
      const pattern = new RegExp(
        `^${value
          .split('%')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
        's',
      );
      return typeof actual === 'string' && pattern.test(actual);
    }
    default:
      throw new Error(`the fake has no filter ${name}`);
  }
}

const PAGING = ['page', 'pageSize', 'sort'];

export async function startWeclappFake(options: { strict?: boolean } = {}): Promise<WeclappFake> {
  const parties: WeclappParty[] = [];
  const events: Record<string, unknown>[] = [];
  const extraParties: unknown[] = [];
  // The fake's own list once it runs: the routes' checks and its failures in one place.
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  const query = (url: URL, records: readonly Record<string, unknown>[]) => {
    const params = [...url.searchParams].filter(([name]) => !PAGING.includes(name));
    const found = records
      .filter((record) => params.every(([name, value]) => matches(record, name, value)))
      .sort((a, b) => String(a['id']).localeCompare(String(b['id']), 'en', { numeric: true }));
    const page = Number(url.searchParams.get('page') ?? 1);
    const size = Number(url.searchParams.get('pageSize') ?? 100);
    return found.slice((page - 1) * size, page * size);
  };

  const fake = await startFakeVendor({
    authorized: (headers) => headers['authenticationtoken'] === WECLAPP_TOKEN,
    unauthorized: {
      status: 401,
      body: { type: '/webapp/view/api/errors.html#unauthorized', title: 'unauthorized', status: 401 },
    },
    route(request) {
      const path = request.url.pathname;
      if (!path.startsWith(WECLAPP_API)) return undefined;
      const resource = path.slice(WECLAPP_API.length);
      if (request.method === 'GET' && resource === '/party') {
        const body = { result: query(request.url, parties) };
        if (options.strict !== false) verify('partyQueryResponse', body);
        const first =
          request.url.searchParams.get('partyType-eq') === 'PERSON' &&
          request.url.searchParams.get('page') === '1';
        return { status: 200, body: first ? { result: [...body.result, ...extraParties] } : body };
      }
      if (request.method === 'GET' && resource === '/crmEvent') {
        const body = { result: query(request.url, events) };
        verify('crmEventQueryResponse', body);
        return { status: 200, body };
      }
      if (request.method === 'POST' && resource === '/crmEvent') {
        verify('crmEventCreate', request.body);
        const input = request.body as Record<string, unknown>;
        if (!parties.some((party) => party.id === input['partyId']))
          return { status: 400, body: { title: 'party not found', status: 400 } };
        const now = Date.now();
        const made = {
          ...input,
          id: String(7000 + events.length + 1),
          createdDate: now,
          lastModifiedDate: now,
          version: '0',
        };
        events.push(made);
        verify('crmEvent', made);
        return { status: 201, body: made };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { parties, events, extraParties, api: `${fake.url}${WECLAPP_API}` });
}
