import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for bexio's API 2.0, written from its published reference (see bexio.schema.json
 * for the extract and its source): `GET /2.0/country`, `GET /2.0/contact_relation`,
 * `POST /2.0/contact/search` (criteria `=`, `>=` and `in`; `limit` ≤ 2000, `offset`, `order_by`;
 * archived contacts left out), `POST /2.0/note` and `POST /2.0/note/search`. A personal access token
 * goes as a bearer token (a wrong one: 401). Times are bexio's wall-clock `YYYY-MM-DD HH:MM:SS`,
 * compared as text (their order). Simplifications: only the criteria callcard sends.
 */

export interface BexioContact {
  id: number | string;
  contact_type_id: 1 | 2;
  name_1: string;
  name_2?: string | null;
  country_id?: number | null;
  phone_fixed?: unknown;
  phone_fixed_second?: string | null;
  phone_mobile?: string | null;
  updated_at: string;
  archived?: boolean;
}

export const BEXIO_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.bexio-personal-access-token';

const check = schemaOf('./bexio.schema.json');

export const COUNTRIES = [
  { id: 1, name: 'Schweiz', name_short: 'CH', iso3166_alpha2: 'CH' },
  { id: 2, name: 'Deutschland', name_short: 'DE', iso3166_alpha2: 'DE' },
  { id: 3, name: 'Frankreich', name_short: 'FR', iso3166_alpha2: 'FR' },
  { id: 4, name: 'Österreich', name_short: 'AT', iso3166_alpha2: 'AT' },
];

export interface BexioFake extends FakeVendor {
  readonly contacts: BexioContact[];
  readonly relations: { id: number; contact_id: number; contact_sub_id: number }[];
  readonly notes: Record<string, unknown>[];
  /** Contacts given as they are in the first page of persons, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
}

type Criterion = { field: string; value: unknown; criteria: string };

function matches(record: Record<string, unknown>, { field, value, criteria }: Criterion): boolean {
  const actual = record[field];
  switch (criteria) {
    case '=':
      return String(actual) === String(value);
    case '>=':
      return String(actual) >= String(value);
    case 'in':
      return (value as unknown[]).map(String).includes(String(actual));
    default:
      throw new Error(`the fake has no criteria ${criteria}`);
  }
}

export async function startBexioFake(options: { strict?: boolean } = {}): Promise<BexioFake> {
  const contacts: BexioContact[] = [];
  const relations: { id: number; contact_id: number; contact_sub_id: number }[] = [];
  const notes: Record<string, unknown>[] = [];
  const extraContacts: unknown[] = [];
  // The fake's own list once it runs: the routes' checks and its failures in one place.
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  function page<T>(request: Recorded, records: readonly T[]): T[] {
    const query = Object.fromEntries(request.url.searchParams);
    verify('listQuery', query);
    const limit = Number(query['limit'] ?? 500);
    const offset = Number(query['offset'] ?? 0);
    return records.slice(offset, offset + limit);
  }

  const list = (request: Recorded, records: readonly unknown[], schema: string): Reply => {
    const body = page(request, records);
    verify(schema, body);
    return { status: 200, body };
  };

  const fake = await startFakeVendor({
    authorized: (headers) => headers.authorization === `Bearer ${BEXIO_TOKEN}`,
    unauthorized: { status: 401, body: { error_code: 401, message: 'Unauthorized' } },
    route(request) {
      const path = request.url.pathname;
      if (request.method === 'GET' && path === '/2.0/country') return list(request, COUNTRIES, 'countryList');
      if (request.method === 'GET' && path === '/2.0/contact_relation')
        return list(request, relations, 'relationList');
      if (request.method === 'POST' && path === '/2.0/contact/search') {
        verify('contactSearchRequest', request.body);
        const criteria = request.body as Criterion[];
        const found = contacts
          .filter((contact) => !contact.archived)
          .filter((contact) =>
            criteria.every((criterion) => matches(contact as unknown as Record<string, unknown>, criterion)),
          )
          .sort((a, b) => String(a.id).localeCompare(String(b.id), 'en', { numeric: true }))
          .map(({ archived: _, ...contact }) => contact);
        const body = page(request, found);
        if (options.strict !== false) verify('contactList', body);
        const persons = criteria.some(
          (criterion) => criterion.field === 'contact_type_id' && criterion.value === 2,
        );
        const first = request.url.searchParams.get('offset') === '0';
        return { status: 200, body: persons && first ? [...body, ...extraContacts] : body };
      }
      if (request.method === 'POST' && path === '/2.0/note/search') {
        verify('noteSearchRequest', request.body);
        const criteria = request.body as Criterion[];
        return {
          status: 200,
          body: notes.filter((note) => criteria.every((criterion) => matches(note, criterion))),
        };
      }
      if (request.method === 'POST' && path === '/2.0/note') {
        verify('noteCreate', request.body);
        const made = {
          project_id: null,
          entry_id: null,
          module_id: null,
          contact_id: null,
          ...(request.body as object),
          id: 300 + notes.length + 1,
        };
        notes.push(made);
        verify('note', made);
        return { status: 201, body: made };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { contacts, relations, notes, extraContacts });
}
