import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { numberForms } from '../../src/lookup/forms.js';
import { createLiveFinder } from '../../src/lookup/live.js';
import { createSource } from '../../src/sources/registry.js';
import {
  createRestSource,
  type RestSourceOptions,
  restSourceSchema,
} from '../../src/sources/rest/rest-source.js';
import type { SearchQuery, Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { CONTRACT_CONTACTS, sourceContract } from './contract.js';
import { ECHO_CURSOR, type FakeApi, type FakeOptions, startFakeApi, toHubSpot } from './rest/fake-api.js';

// The fake API follows HubSpot's CRM v3 contacts API (and a Pipedrive-like persons API for the
// other paging styles): see test/sources/rest/fake-api.ts for the shapes and what is simplified.

const TOKEN = 'pat-na1-0f3c-secret-token';
const PROPERTIES = 'firstname,lastname,phone,mobilephone,company,hs_lastmodifieddate';
const silent = pino({ level: 'silent' });
const never = () => new AbortController().signal;

const hubspotFields = {
  id: 'id',
  firstName: 'properties.firstname',
  lastName: 'properties.lastname',
  company: 'properties.company',
  phones: ['properties.phone', 'properties.mobilephone'],
  updatedAt: 'properties.hs_lastmodifieddate',
  deleted: 'archived',
  contactUri: 'https://app.hubspot.com/contacts/4242/record/0-1/{id}',
};

const hubspotList = (baseUrl: string) => ({
  baseUrl,
  list: {
    request: {
      url: '/crm/v3/objects/contacts',
      query: { limit: '{limit}', after: '{cursor}', properties: PROPERTIES },
    },
    items: 'results',
    pagination: { type: 'cursor', cursorPath: 'paging.next.after', limit: 2 },
  },
  fields: hubspotFields,
});

/** HubSpot search: OR of (phone or mobile phone) ending with the national or the international digits. */
const phoneFilters = ['phone', 'mobilephone'].flatMap((propertyName) =>
  ['*{national}', '*{digits}'].map((value) => ({
    filters: [{ propertyName, operator: 'CONTAINS_TOKEN', value }],
  })),
);

const hubspotSearch = (baseUrl: string) => ({
  baseUrl,
  search: {
    request: {
      method: 'POST',
      url: '/crm/v3/objects/contacts/search',
      body: { filterGroups: phoneFilters, properties: PROPERTIES.split(','), limit: '{limit}' },
    },
    items: 'results',
  },
  fields: hubspotFields,
});

const bearer = { type: 'bearer', token: TOKEN };

let dir: ReturnType<typeof tempDir>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = tempDir('callcard-rest-');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  dir.remove();
});

function rest(settings: Record<string, unknown>, options: RestSourceOptions = {}, logger = silent): Source {
  const parsed = restSourceSchema.parse({ type: 'rest', ...settings });
  const source = createRestSource({ ...parsed, name: 'crm' }, { logger, baseDir: dir.path }, options);
  cleanups.push(() => source.close?.());
  return source;
}

async function fake(
  contacts: readonly RawContact[] = CONTRACT_CONTACTS,
  options: FakeOptions = {},
): Promise<FakeApi> {
  const api = await startFakeApi(toHubSpot(contacts), options);
  cleanups.push(() => api.close());
  return api;
}

const query = (key: string, limit = 5): SearchQuery => ({
  key,
  forms: numberForms(key),
  region: 'CH',
  limit,
});

async function listAll(source: Source, options: { since?: number; signal?: AbortSignal } = {}) {
  const batches: RawContact[][] = [];
  for await (const batch of source.list!({ signal: options.signal ?? never(), ...options }))
    batches.push([...batch]);
  return batches;
}

const ids = (batches: RawContact[][]) => batches.flat().map((contact) => contact.id);

/** What an error shows anywhere it may be logged. */
const shown = (error: unknown) =>
  `${String(error)} ${(error as Error).stack ?? ''} ${JSON.stringify(error)} ${JSON.stringify((error as Error).cause ?? '')}`;

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

sourceContract('rest (mirror)', async (contacts) => {
  const api = await startFakeApi(toHubSpot(contacts), {
    requireHeaders: { authorization: `Bearer ${TOKEN}` },
  });
  const parsed = restSourceSchema.parse({ type: 'rest', ...hubspotList(api.url), auth: bearer });
  return {
    source: createRestSource({ ...parsed, name: 'hubspot' }, { logger: silent, baseDir: '.' }),
    mode: 'mirror',
    down: () => api.close(),
    teardown: () => api.close(),
  };
});

sourceContract('rest (live)', async (contacts) => {
  const api = await startFakeApi(toHubSpot(contacts), {
    requireHeaders: { authorization: `Bearer ${TOKEN}` },
  });
  const parsed = restSourceSchema.parse({ type: 'rest', ...hubspotSearch(api.url), auth: bearer });
  return {
    source: createRestSource({ ...parsed, name: 'hubspot' }, { logger: silent, baseDir: '.' }),
    mode: 'live',
    down: () => api.close(),
    teardown: () => api.close(),
  };
});

describe('rest source: mapping', () => {
  it('maps HubSpot records by path, with a contact link made from the id', async () => {
    const api = await fake();
    const [first] = (await listAll(rest(hubspotList(api.url)))).flat();
    expect(first).toEqual({
      id: 'a1',
      name: 'Alexa Holiday',
      company: 'White Cross Co',
      contactUri: 'https://app.hubspot.com/contacts/4242/record/0-1/a1',
      phones: [{ value: '021 552 20 00', label: 'phone' }],
      customData: {},
      updatedAt: Date.parse('2026-01-10T08:00:00.000Z'),
    });
  });

  it('reads lists of phone objects with their labels, nested fields, custom data and link templates', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v1/persons', query: { start: '{offset}' } },
        items: 'data',
        pagination: { type: 'offset' },
      },
      fields: {
        id: 'id',
        name: 'name',
        company: 'org_id.name',
        phones: 'phone',
        updatedAt: 'update_time',
        contactUri: 'https://crm.example/people/{id}?org={org_id.name}',
        companyUri: 'https://crm.example/orgs/{org_id.name}',
        customData: { 'Phone labels': 'phone[*].label', Primary: 'phone[0].primary' },
      },
    });
    const [alexa, bruno] = (await listAll(source)).flat();
    expect(alexa).toEqual({
      id: '1',
      name: 'Alexa Holiday',
      company: 'White Cross Co',
      contactUri: 'https://crm.example/people/1?org=White%20Cross%20Co',
      companyUri: 'https://crm.example/orgs/White%20Cross%20Co',
      phones: [
        { value: '021 552 20 00', label: 'work' },
        { value: '079 123 45 67', label: 'mobile' },
      ],
      customData: { 'Phone labels': 'work, mobile', Primary: 'true' },
      updatedAt: Date.parse('2026-01-01T09:00:00Z'),
    });
    // No organisation: no company and no company link (the template lacks a value).
    expect(bruno).not.toHaveProperty('company');
    expect(bruno).not.toHaveProperty('companyUri');
  });

  it('without `fields`, reads a flat record by its field names, as CSV headers are read', async () => {
    const api = await fake();
    const [contact] = (await listAll(rest({ baseUrl: api.url, list: { request: { url: '/flat' } } }))).flat();
    expect(contact).toEqual({
      id: 'f1',
      name: 'Ana Muster',
      company: 'Muster AG',
      phones: [
        { value: '044 668 18 00', label: 'phone' },
        { value: '079 555 66 77', label: 'mobile' },
        { value: '078 555 66 77', label: 'mobile' },
      ],
      customData: { email: 'ana@example.ch' },
      updatedAt: Date.parse('2026-01-01T00:00:00Z'),
    });
  });
});

describe('rest source: auth', () => {
  it('bearer: sends the token; a wrong one fails with the status only', async () => {
    const api = await fake(CONTRACT_CONTACTS, { requireHeaders: { authorization: `Bearer ${TOKEN}` } });
    expect(ids(await listAll(rest({ ...hubspotList(api.url), auth: bearer })))).toHaveLength(4);
    const wrong = `${TOKEN}-revoked`;
    const error = await failure(
      listAll(rest({ ...hubspotList(api.url), auth: { type: 'bearer', token: wrong } })),
    );
    expect(error.message).toBe('list page 1 (GET /crm/v3/objects/contacts): HTTP 401 Unauthorized');
    // The fake's 401 body echoes the request's headers: none of it reaches the error.
    expect(shown(error)).not.toContain(wrong);
  });

  it('basic: user and password, the password from an environment variable', async () => {
    const password = 'hunter2-basic-pw';
    const expected = `Basic ${Buffer.from(`callcard:${password}`).toString('base64')}`;
    const api = await fake(CONTRACT_CONTACTS, { requireHeaders: { authorization: expected } });
    const auth = { type: 'basic', username: 'callcard', passwordEnv: 'CRM_PASSWORD' };
    const source = rest({ ...hubspotList(api.url), auth }, { env: { CRM_PASSWORD: password } });
    expect(ids(await listAll(source))).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(() => rest({ ...hubspotList(api.url), auth }, { env: {} })).toThrow(
      'rest source "crm": auth.passwordEnv: environment variable CRM_PASSWORD is not set',
    );
  });

  it('API key header: the key read from a file (relative to the config directory), with a prefix', async () => {
    const key = 'k3y-from-file-0000';
    writeFileSync(join(dir.path, 'crm.key'), `${key}\n`);
    const api = await fake(CONTRACT_CONTACTS, { requireHeaders: { 'x-api-key': `Token ${key}` } });
    const auth = { type: 'apiKey', header: 'X-API-Key', prefix: 'Token ', keyFile: 'crm.key' };
    expect(ids(await listAll(rest({ ...hubspotList(api.url), auth })))).toHaveLength(4);
    expect(() => rest({ ...hubspotList(api.url), auth: { ...auth, keyFile: 'missing.key' } })).toThrow(
      /auth\.keyFile: cannot read .*missing\.key \(ENOENT\)/,
    );
  });

  describe('OAuth2 client credentials', () => {
    const oauth = { clientId: 'callcard-app', clientSecret: 'cl13nt-s3cret-value', expiresIn: 120 };
    let clock = 0;
    const setup = async (extra: Record<string, unknown> = {}) => {
      clock = Date.parse('2026-05-01T08:00:00Z');
      const api = await fake(CONTRACT_CONTACTS, { oauth });
      const auth = {
        type: 'oauth2',
        tokenUrl: `${api.url}/oauth/v1/token`,
        clientId: oauth.clientId,
        clientSecretEnv: 'CRM_CLIENT_SECRET',
        scope: 'crm.objects.contacts.read',
        ...extra,
      };
      const source = rest(
        { ...hubspotSearch(api.url), auth },
        { env: { CRM_CLIENT_SECRET: oauth.clientSecret }, now: () => clock },
      );
      const apiCalls = () => api.requests.filter((request) => request.url.pathname.startsWith('/crm')).length;
      return { api, source, apiCalls };
    };

    it('asks a token once, shares it, and renews it shortly before expires_in', async () => {
      const { api, source } = await setup();
      await Promise.all([1, 2, 3].map(() => source.search!(query('+41791234567'), { signal: never() })));
      expect(api.tokensIssued()).toBe(1);
      const tokenRequest = api.requests.find((request) => request.url.pathname === '/oauth/v1/token')!;
      expect(new URLSearchParams(tokenRequest.body).get('grant_type')).toBe('client_credentials');
      expect(new URLSearchParams(tokenRequest.body).get('scope')).toBe('crm.objects.contacts.read');
      expect(tokenRequest.headers.authorization).toMatch(/^Basic /);

      clock += 100_000; // 100 s of 120: still good
      await source.search!(query('+41791234567'), { signal: never() });
      expect(api.tokensIssued()).toBe(1);
      clock += 10_000; // 110 s: within the renewal margin
      expect(await source.search!(query('+41791234567'), { signal: never() })).toHaveLength(1);
      expect(api.tokensIssued()).toBe(2);
    });

    it('on a 401, renews the token once and asks again', async () => {
      const { api, source, apiCalls } = await setup();
      await source.search!(query('+41791234567'), { signal: never() });
      api.revokeTokens();
      const before = apiCalls();
      expect((await source.search!(query('+41791234567'), { signal: never() })).map((c) => c.id)).toEqual([
        'a2',
      ]);
      expect(api.tokensIssued()).toBe(2);
      expect(apiCalls() - before).toBe(2);

      // A token the API keeps refusing: one renewal only, then the 401 is reported.
      api.issueBadTokens(true);
      api.revokeTokens();
      const again = apiCalls();
      const error = await failure(source.search!(query('+41791234567'), { signal: never() }));
      expect(error.message).toBe('search (POST /crm/v3/objects/contacts/search): HTTP 401 Unauthorized');
      expect(api.tokensIssued()).toBe(3);
      expect(apiCalls() - again).toBe(2);
    });

    it('can send the client credentials as form fields', async () => {
      const { api, source } = await setup({ clientAuth: 'body' });
      await source.search!(query('+41791234567'), { signal: never() });
      const tokenRequest = api.requests.find((request) => request.url.pathname === '/oauth/v1/token')!;
      expect(tokenRequest.headers.authorization).toBeUndefined();
      expect(new URLSearchParams(tokenRequest.body).get('client_id')).toBe(oauth.clientId);
    });

    it('a refused client fails with the OAuth error code, never the secret', async () => {
      const api = await fake(CONTRACT_CONTACTS, { oauth });
      const wrong = 'wrong-s3cret-for-test';
      const auth = {
        type: 'oauth2',
        tokenUrl: `${api.url}/oauth/v1/token`,
        clientId: oauth.clientId,
        clientSecret: wrong,
      };
      const error = await failure(
        rest({ ...hubspotSearch(api.url), auth }).search!(query('+41791234567'), { signal: never() }),
      );
      expect(error.message).toBe('OAuth2 token request failed: HTTP 401 Unauthorized (invalid_client)');
      expect(shown(error)).not.toContain(wrong);
    });
  });

  it('never shows secrets in errors or logs, even when the API echoes them back', async () => {
    const api = await fake(CONTRACT_CONTACTS, { requireHeaders: { authorization: `Bearer ${TOKEN}` } });
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const source = rest({ ...hubspotList(api.url), auth: bearer }, {}, logger);
    await listAll(source);
    api.failWith(500);
    const error = await failure(listAll(source));
    expect(error.message).toBe('list page 1 (GET /crm/v3/objects/contacts): HTTP 500 Internal Server Error');
    expect(shown(error)).not.toContain(TOKEN);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});

describe('rest source: pagination', () => {
  it('cursor: follows the cursor at a path until the response has none', async () => {
    const api = await fake();
    expect(ids(await listAll(rest(hubspotList(api.url))))).toEqual(['a1', 'a2', 'a3', 'a4']);
    const afters = api.requests.map((request) => request.url.searchParams.get('after'));
    expect(afters).toEqual([null, '2']); // no `after` on the first page
    expect(api.requests[0]!.url.searchParams.get('limit')).toBe('2');
  });

  it('next link at a path in the response (HubSpot paging.next.link)', async () => {
    const api = await fake();
    const source = rest({
      ...hubspotList(api.url),
      list: {
        request: { url: '/crm/v3/objects/contacts?limit={limit}' },
        items: 'results',
        pagination: { type: 'link', nextPath: 'paging.next.link', limit: 3 },
      },
    });
    expect(ids(await listAll(source))).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(api.requests.map((request) => request.url.search)).toEqual(['?limit=3', '?after=3&limit=3']);
  });

  it('next link in an RFC 8288 Link header', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v2/persons', query: { per_page: '{limit}' } },
        pagination: { type: 'link', limit: 2 },
      },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    const batches = await listAll(source);
    expect(batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
    expect(ids(batches)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('page numbers: stops on the first empty page', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v2/persons?nolink=1', query: { page: '{page}', per_page: '{limit}' } },
        pagination: { type: 'page', limit: 2 },
      },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    expect(ids(await listAll(source))).toEqual(['1', '2', '3', '4', '5']);
    expect(api.requests.map((request) => request.url.searchParams.get('page'))).toEqual(['1', '2', '3', '4']);
  });

  it('offset: advances by the records received, even when the API gives fewer than asked', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v1/persons', query: { start: '{offset}', limit: '{limit}' } },
        items: 'data', // Pipedrive answers `data: null` past the end: an empty page
        pagination: { type: 'offset', limit: 100 },
      },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    expect(ids(await listAll(source))).toEqual(['1', '2', '3', '4', '5']);
    expect(api.requests.map((request) => request.url.searchParams.get('start'))).toEqual([
      '0',
      '2',
      '4',
      '5',
    ]);
  });

  it('fails rather than mirror part of the contacts when there are more pages than maxPages', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v2/persons', query: { page: '{page}', per_page: '{limit}' } },
        pagination: { type: 'page', limit: 2, maxPages: 2 },
      },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    await expect(listAll(source)).rejects.toThrow('list: more than 2 pages; raise list.pagination.maxPages');
  });
});

describe('rest source: incremental listing', () => {
  const recent = '2026-04-01T10:00:00.000Z';
  const changed = (api: FakeApi) => {
    for (const contact of api.hubspot.slice(2)) contact.properties['hs_lastmodifieddate'] = recent;
  };
  const incremental = (baseUrl: string) => ({
    ...hubspotList(baseUrl),
    list: {
      ...hubspotList(baseUrl).list,
      incremental: {
        url: '/crm/v3/objects/contacts/search',
        body: {
          filterGroups: [
            { filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: '{sinceMs}' }] },
          ],
          properties: PROPERTIES.split(','),
          limit: '{limit}',
          after: '{cursor}',
        },
      },
    },
  });

  it('uses the incremental request with {since} when changes since a time are asked', async () => {
    const api = await fake();
    changed(api);
    const source = rest(incremental(api.url));
    const since = Date.parse('2026-03-01T00:00:00Z');
    expect(ids(await listAll(source, { since }))).toEqual(['a3', 'a4']);
    const [search] = api.requests;
    expect(search!.method).toBe('POST');
    expect(JSON.parse(search!.body)).toEqual({
      // A field that is exactly one variable keeps its type: {sinceMs} is sent as a number.
      filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: since }] }],
      properties: PROPERTIES.split(','),
      limit: 2,
    });
    // A full listing uses the list request.
    expect(ids(await listAll(source))).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(api.requests[1]!.method).toBe('GET');
  });

  it('a {since} query parameter is sent only when changes are asked', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/v1/persons', query: { start: '{offset}', since: '{since}' } },
        items: 'data',
        pagination: { type: 'offset' },
      },
      fields: { id: 'id', name: 'name', phones: 'phone', updatedAt: 'update_time' },
    });
    expect(ids(await listAll(source))).toHaveLength(5);
    expect(api.requests[0]!.url.searchParams.has('since')).toBe(false);
    api.requests.length = 0;
    expect(ids(await listAll(source, { since: Date.parse('2026-03-01T00:00:00Z') }))).toEqual([
      '3',
      '4',
      '5',
    ]);
    expect(api.requests[0]!.url.searchParams.get('since')).toBe('2026-03-01T00:00:00.000Z');
  });

  it('in a mirror, the sync engine asks for the changes since the latest updatedAt it stored', async () => {
    const api = await fake();
    const dates = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-10'];
    api.hubspot.forEach((contact, index) => {
      contact.properties['hs_lastmodifieddate'] = `${dates[index]}T08:00:00.000Z`;
    });
    const store = openSqliteStore(dir.path);
    cleanups.push(() => store.close());
    const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger: silent, workers: 0 });
    const mirror = { source: rest(incremental(api.url)), intervalMs: 60_000, fullIntervalMs: 86_400_000 };
    expect((await engine.sync(mirror)).full).toBe(true);
    api.hubspot[2]!.properties['hs_lastmodifieddate'] = recent;
    api.requests.length = 0;
    const report = await engine.sync(mirror);
    // a3 changed; a4 is the latest change already seen, asked again by the engine's overlap.
    expect(report).toMatchObject({ full: false, read: 2, written: 2 });
    const body = JSON.parse(api.requests[0]!.body);
    // The engine asks again a minute before the latest change it saw.
    expect(body.filterGroups[0].filters[0].value).toBe(Date.parse('2026-01-10T08:00:00.000Z') - 60_000);
  });
});

describe('rest source: templates and encoding', () => {
  it('URL-encodes values in the URL and its query, JSON-escapes them in a JSON text body', async () => {
    const api = await fake();
    const fields = { id: 'id', name: 'name', phones: 'phone' };
    const pagination = { type: 'cursor', cursorPath: 'next' };
    const inUrl = rest({
      baseUrl: `${api.url}/`,
      list: { request: { url: 'echo/{cursor}', query: { c: '{cursor}' } }, items: 'items', pagination },
      fields,
    });
    expect(ids(await listAll(inUrl))).toEqual(['1', '2']);
    const inBody = rest({
      baseUrl: api.url,
      list: {
        request: { url: '/echo', body: '{"cursor": "{cursor}", "limit": {limit}}' },
        items: 'items',
        pagination,
      },
      fields,
    });
    expect(ids(await listAll(inBody))).toEqual(['1', '2']);
    expect(JSON.parse(api.requests.at(-1)!.body)).toEqual({ cursor: ECHO_CURSOR, limit: 100 });
  });

  it('searches a number in the form the API wants, a 404 being "nobody"', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      search: { request: { url: '/v1/persons/by-phone/{international}' }, items: 'data', notFound: 'empty' },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    expect((await source.search!(query('+41215522000'), { signal: never() })).map((c) => c.id)).toEqual([
      '1',
    ]);
    expect(api.requests[0]!.url.pathname).toBe('/v1/persons/by-phone/%2B41%2021%20552%2020%2000');
    expect(await source.search!(query('+41440000000'), { signal: never() })).toEqual([]);
  });

  it('several search requests are asked together and their records merged', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      search: {
        request: [{ url: '/v1/persons/by-phone/{national}' }, { url: '/v1/persons/by-phone/{e164}' }],
        items: 'data',
        notFound: 'empty',
      },
      fields: { id: 'id', name: 'name', phones: 'phone' },
    });
    expect((await source.search!(query('+41215522000'), { signal: never() })).map((c) => c.id)).toEqual([
      '1',
    ]);
    expect(api.requests.map((request) => request.url.pathname).sort()).toEqual([
      '/v1/persons/by-phone/%2B41215522000',
      '/v1/persons/by-phone/0215522000',
    ]);
  });
});

describe('rest source: fields.country', () => {
  it('reads national numbers in the country a record names, by code or name; search ranks by it too', async () => {
    const records = [
      { id: 'ch', name: 'Schweizer', phone: '089 123 45 67', land: 'Schweiz' },
      { id: 'de', name: 'Deutsch', phone: '089 / 123 45-67', land: 'Deutschland' },
      { id: 'xx', name: 'Nowhere', phone: '021 552 20 01', land: 'Atlantis' },
    ];
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(records));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const dir = tempDir();
    const store = openSqliteStore(dir.path);
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const fields = { id: 'id', name: 'name', phones: ['phone'], country: 'land' };
      const source = rest({
        baseUrl,
        list: { request: { url: '/all' } },
        search: { request: { url: '/search/{e164}' } },
        fields,
      });
      const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger: silent, workers: 0 });
      const report = await engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
      expect(report).toMatchObject({ written: 3, skipped: 0 });
      const ids = async (key: string) => (await store.contacts.findByKey('crm', key, 5)).map((m) => m.id);
      expect(await ids('+49891234567')).toEqual(['de']);
      expect(await ids('+41891234567')).toEqual(['ch']);
      expect(await ids('+41215522001')).toEqual(['xx']);
      // The German record has the number a caller from Munich has: it comes first.
      const found = await source.search!(query('+49891234567', 1), { signal: never() });
      expect(found.map((contact) => contact.id)).toEqual(['de']);
    } finally {
      await store.close();
      dir.remove();
      server.close();
    }
  });
});

describe('rest source: live search', () => {
  it("keeps only exact numbers: a fuzzy vendor result is dropped by the core's re-check", async () => {
    const api = await fake();
    const source = rest(hubspotSearch(api.url));
    // The vendor's suffix search for +33 2 15 52 20 00 also finds the Swiss 021 552 20 00.
    const raw = await source.search!(query('+33215522000'), { signal: never() });
    expect(raw.map((contact) => contact.id)).toEqual(['a3', 'a1', 'a2']);
    const find = createLiveFinder(source, 'CH', { ttlMs: 0, missTtlMs: 0, maxEntries: 10 });
    const found = await find(query('+33215522000'), { signal: never() });
    expect(found.matches.map((match) => match.id)).toEqual(['a3']);
    expect(found.dropped).toEqual([
      { id: 'a1', reason: 'no number equal to +33215522000' },
      { id: 'a2', reason: 'no number equal to +33215522000' },
    ]);
  });

  it('sends the limit as a number in a body given as structure', async () => {
    const api = await fake();
    await rest(hubspotSearch(api.url)).search!(query('+41215522000', 3), { signal: never() });
    expect(JSON.parse(api.requests[0]!.body).limit).toBe(3);
  });
});

describe('rest source: failures and cancellation', () => {
  it('a hanging server is cut off as soon as the signal aborts, in search and in list', async () => {
    const api = await fake();
    const source = rest({
      baseUrl: api.url,
      list: { request: { url: '/hang' } },
      search: { request: { url: '/hang?n={e164}' } },
    });
    for (const call of [
      (signal: AbortSignal) => source.search!(query('+41791234567'), { signal }),
      (signal: AbortSignal) => listAll(source, { signal }),
    ]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('deadline')), 50);
      // The server never answers: the call ends only because the signal cut it off.
      await expect(call(controller.signal)).rejects.toThrow('deadline');
    }
  });

  it('each request is also bounded by requestTimeoutMs (a mirror sync has no deadline of its own)', async () => {
    const api = await fake();
    const source = rest({ baseUrl: api.url, requestTimeoutMs: 100, list: { request: { url: '/hang' } } });
    await expect(listAll(source)).rejects.toThrow('list page 1 (GET /hang): no answer within 100 ms');
  });

  it('an unreachable server, a non-JSON answer, a missing items path and a foreign redirect are errors', async () => {
    const api = await fake();
    const list = (url: string, items?: string) =>
      listAll(rest({ baseUrl: api.url, list: { request: { url }, ...(items && { items }) } }));
    await expect(list('/html')).rejects.toThrow(
      'list page 1 (GET /html): the answer is not JSON (text/html)',
    );
    // A wrong path must not look like an empty listing (which would empty the mirror).
    await expect(list('/crm/v3/objects/contacts', 'resultz')).rejects.toThrow(
      'the answer has nothing at "resultz"',
    );
    await expect(list('/moved')).rejects.toThrow(
      /redirected to http:\/\/localhost:\d+, another origin; not followed/,
    );
    await api.close();
    // ECONNREFUSED, or UND_ERR_SOCKET when a kept-alive connection was closed under it.
    await expect(list('/crm/v3/objects/contacts', 'results')).rejects.toThrow(
      /^list page 1 \(GET \/crm\/v3\/objects\/contacts\): connection failed \((ECONNREFUSED|UND_ERR_SOCKET)\)$/,
    );
  });

  it('a closed source refuses calls; close is idempotent', async () => {
    const api = await fake();
    const source = rest(hubspotSearch(api.url));
    await source.close!();
    await source.close!();
    await expect(source.search!(query('+41791234567'), { signal: never() })).rejects.toThrow('is closed');
  });
});

describe('rest source: configuration', () => {
  const issues = (settings: Record<string, unknown>) => {
    const result = restSourceSchema.safeParse({ type: 'rest', ...settings });
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('explains what is wrong', () => {
    expect(
      issues({
        auth: { type: 'bearer' },
        list: { request: { url: '/x?q={e164}' }, pagination: { type: 'cursor' } },
        search: { request: { url: '/s?q={number}' } },
        fields: { phones: 'phones[x]' },
      }),
    ).toEqual([
      "auth.token: needs token, tokenEnv (an environment variable's name) or tokenFile (a file's path)",
      'list.request.url: unknown variable {e164}: list requests know {since}, {sinceMs}, {cursor}, {page}, {offset}, {limit}',
      'list.pagination.cursorPath: is required',
      'search.request.0.url: unknown variable {number}: search requests know {e164}, {digits}, {national}, {international}, {limit}',
      'fields.phones: not a valid path: "[x]" must be [*], a number such as [0], or a quoted name such as ["a.b"]',
    ]);
    expect(
      issues({
        auth: { type: 'bearer', token: 'a', tokenEnv: 'B' },
        search: { request: { url: 'https://x' } },
      }),
    ).toEqual(['auth.token: give only one of token, tokenEnv']);
  });

  it('checks at creation what a schema cannot see', () => {
    expect(() => rest({ search: { request: { url: '/contacts?phone={e164}' } } })).toThrow(
      'rest source "crm": search.request.url "/contacts?phone={e164}" is relative: set baseUrl, or write the full URL',
    );
    expect(() =>
      rest({
        baseUrl: 'https://crm.example',
        list: { request: { url: '/c' }, pagination: { type: 'page' } },
      }),
    ).toThrow(
      'rest source "crm": pagination.type page needs {page} in list.request (url, query, headers or body)',
    );
    expect(() => rest({ baseUrl: 'https://crm.example' })).toThrow('needs `list`');
  });

  it('the example of docs/sources.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(DOC_EXAMPLE));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'rest', name: 'crm', mode: 'mirror' });
    const source = await createSource({ ...entry!, auth: { type: 'bearer', token: 'test' } } as never, {
      logger: silent,
      baseDir: dir.path,
    });
    cleanups.push(() => source.close?.());
    expect(typeof source.list).toBe('function');
    expect(typeof source.search).toBe('function');
  });
});

/** The example of docs/sources.md. */
const DOC_EXAMPLE = docExample('docs/sources.md', 'crmName: Our CRM');
