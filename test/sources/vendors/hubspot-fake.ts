import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for HubSpot's CRM v3 API, written from its published OpenAPI documents (see
 * hubspot.schema.json for the extract and its source): `GET /crm/v3/objects/{contacts,companies}`
 * (`limit` ≤ 100, `after`, `properties`, `archived`), `POST .../search` (filter groups OR'ed,
 * filters AND'ed; `EQ`, `GTE`, `IN`; `limit` ≤ 200; at most 10 000 results paged through, as HubSpot
 * documents), `POST /crm/v3/objects/companies/batch/read`, and for calls `POST`, `POST .../search`
 * and `PATCH /crm/v3/objects/calls/{id}`. A private app's token goes as a bearer token (a wrong
 * one: 401). Requests and answers are checked against the extract. Simplifications: a search sees
 * a record as soon as it is written (HubSpot's index may lag a few seconds); `hs_lastmodifieddate`
 * is compared as epoch ms; associations of a new call are kept, not checked.
 */

export interface HubspotObject {
  id: string;
  properties: Record<string, string | undefined>;
  createdAt?: string;
  updatedAt: string;
  archived?: boolean;
}

export const HUBSPOT_TOKEN = 'pat-eu1-0f3c9a1e-5b7d-4c2a-9e8f-123456789abc';

const check = schemaOf('./hubspot.schema.json');

export interface HubspotFake extends FakeVendor {
  readonly contacts: HubspotObject[];
  readonly companies: HubspotObject[];
  readonly calls: (HubspotObject & { associations?: unknown })[];
  /** Records given as they are in listings, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
}

export async function startHubspotFake(options: { strict?: boolean } = {}): Promise<HubspotFake> {
  const contacts: HubspotObject[] = [];
  const companies: HubspotObject[] = [];
  const calls: (HubspotObject & { associations?: unknown })[] = [];
  const extraContacts: unknown[] = [];
  const stores: Record<string, HubspotObject[]> = { contacts, companies, calls };
  // The fake's own list once it runs: the routes' checks and its failures in one place.
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  /** An object as HubSpot answers it: the properties asked for, unset ones left out. */
  const shown = (record: HubspotObject, properties: readonly string[]) => ({
    id: record.id,
    properties: Object.fromEntries(
      ['hs_object_id', ...properties]
        .map((name) => [name, name === 'hs_object_id' ? record.id : record.properties[name]] as const)
        .filter(([, value]) => value !== undefined),
    ),
    createdAt: record.createdAt ?? '2026-01-01T00:00:00.000Z',
    updatedAt: record.updatedAt,
    archived: record.archived ?? false,
  });

  const matches = (record: HubspotObject, filter: Record<string, unknown>): boolean => {
    const value = record.properties[String(filter['propertyName'])];
    switch (filter['operator']) {
      case 'EQ':
        return value === filter['value'];
      case 'IN':
        return (filter['values'] as string[]).includes(String(value));
      case 'GTE':
        return value !== undefined && Date.parse(value) >= Number(filter['value']);
      default:
        throw new Error(`the fake has no operator ${String(filter['operator'])}`);
    }
  };

  function list(request: Recorded, kind: string): Reply {
    const query = Object.fromEntries(request.url.searchParams);
    const limit = Number(query['limit'] ?? 10);
    if (!(limit >= 1 && limit <= 100)) return { status: 400, body: { status: 'error', message: 'limit' } };
    const properties = (query['properties'] ?? '').split(',').filter(Boolean);
    const all = stores[kind]!.filter(
      (record) => (query['archived'] === 'true') === (record.archived ?? false),
    );
    const start = Number(query['after'] ?? 0);
    const page = all.slice(start, start + limit).map((record) => shown(record, properties));
    const body: Record<string, unknown> = { results: page };
    if (start + limit < all.length) {
      body['paging'] = {
        next: { after: String(start + limit), link: `${request.url.pathname}?after=${start + limit}` },
      };
    }
    const extra = kind === 'contacts' && start === 0 ? extraContacts : [];
    if (options.strict !== false) verify('listResponse', body);
    return { status: 200, body: { ...body, results: [...(body['results'] as unknown[]), ...extra] } };
  }

  function search(request: Recorded, kind: string): Reply {
    verify('searchRequest', request.body);
    const input = request.body as Record<string, unknown>;
    const limit = Number(input['limit']);
    if (!(limit >= 1 && limit <= 200)) return { status: 400, body: { status: 'error', message: 'limit' } };
    const start = Number(input['after'] ?? 0);
    if (start >= 10_000) return { status: 400, body: { status: 'error', message: 'paging past 10000' } };
    const groups = (input['filterGroups'] as { filters: Record<string, unknown>[] }[]) ?? [];
    const found = stores[kind]!.filter(
      (record) =>
        !record.archived &&
        (groups.length === 0 ||
          groups.some((group) => group.filters.every((filter) => matches(record, filter)))),
    );
    const properties = (input['properties'] as string[]) ?? [];
    const body: Record<string, unknown> = {
      total: found.length,
      results: found.slice(start, start + limit).map((record) => shown(record, properties)),
    };
    if (start + limit < found.length) body['paging'] = { next: { after: String(start + limit) } };
    if (options.strict !== false) verify('searchResponse', body);
    return { status: 200, body };
  }

  const fake = await startFakeVendor({
    authorized: (headers) => headers.authorization === `Bearer ${HUBSPOT_TOKEN}`,
    unauthorized: {
      status: 401,
      body: {
        status: 'error',
        message: 'Authentication credentials not found.',
        category: 'INVALID_AUTHENTICATION',
      },
    },
    route(request) {
      const path = request.url.pathname;
      const object = /^\/crm\/v3\/objects\/(contacts|companies|calls)(\/.*)?$/.exec(path);
      if (!object) return undefined;
      const [, kind, rest = ''] = object as unknown as [string, string, string | undefined];
      if (request.method === 'GET' && rest === '') return list(request, kind);
      if (request.method === 'POST' && rest === '/search') return search(request, kind);
      if (request.method === 'POST' && rest === '/batch/read' && kind === 'companies') {
        verify('batchReadInput', request.body);
        const input = request.body as { inputs: { id: string }[]; properties: string[] };
        const ids = input.inputs.map((item) => item.id);
        const body = {
          status: 'COMPLETE',
          results: companies
            .filter((record) => ids.includes(record.id))
            .map((record) => shown(record, input.properties)),
          startedAt: '2026-11-26T10:00:00.000Z',
          completedAt: '2026-11-26T10:00:00.100Z',
        };
        verify('batchReadResponse', body);
        return { status: 200, body };
      }
      if (kind === 'calls' && request.method === 'POST' && rest === '') {
        verify('createInput', request.body);
        const input = request.body as { properties: Record<string, string>; associations: unknown };
        const now = new Date().toISOString();
        const made = {
          id: String(90_000 + calls.length + 1),
          properties: input.properties,
          createdAt: now,
          updatedAt: now,
          archived: false,
          associations: input.associations,
        };
        calls.push(made);
        const body = shown(made, Object.keys(made.properties));
        verify('object', body);
        return { status: 201, body };
      }
      const one = /^\/(\d+)$/.exec(rest);
      if (kind === 'calls' && request.method === 'PATCH' && one) {
        verify('updateInput', request.body);
        const found = calls.find((record) => record.id === one[1]);
        if (!found) return { status: 404, body: { status: 'error', message: 'not found' } };
        Object.assign(found.properties, (request.body as { properties: Record<string, string> }).properties);
        found.updatedAt = new Date().toISOString();
        const body = shown(found, Object.keys(found.properties));
        verify('object', body);
        return { status: 200, body };
      }
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, { contacts, companies, calls, extraContacts });
}
