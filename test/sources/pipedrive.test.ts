import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createPipedriveSource,
  type PipedriveSourceConfig,
  pipedriveSourceSchema,
} from '../../src/sources/pipedrive/pipedrive-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { PIPEDRIVE_TOKEN, type PipedriveFake, startPipedriveFake } from './vendors/pipedrive-fake.js';

// Pipedrive itself is not reachable from the tests: the fake in vendors/pipedrive-fake.ts follows
// its published API reference, and checks requests and answers against the extract of it in
// vendors/pipedrive.schema.json.

const silent = pino({ level: 'silent' });
const env = { PIPEDRIVE_API_TOKEN: PIPEDRIVE_TOKEN };

const source = (fake: PipedriveFake, settings: Record<string, unknown> = {}) =>
  createPipedriveSource(
    {
      ...pipedriveSourceSchema.parse({
        type: 'pipedrive',
        tokenEnv: 'PIPEDRIVE_API_TOKEN',
        baseUrl: fake.url,
        ...settings,
      }),
      name: 'pipedrive',
    } as PipedriveSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

sourceContract('pipedrive', async (contacts) => {
  const fake = await startPipedriveFake({ strictIds: false });
  const company = { id: 1, name: 'White Cross Co', update_time: '2026-01-01T00:00:00Z' };
  fake.organizations.push(company);
  for (const contact of contacts) {
    fake.persons.push({
      id: contact.id!,
      name: contact.name!,
      org_id: contact.company ? company.id : null,
      phones: contact.phones.map((phone, index) => ({
        value: phone.value,
        label: 'work',
        primary: index === 0,
      })),
      update_time: '2026-01-01T00:00:00Z',
    });
  }
  let down = false;
  return {
    source: source(fake),
    mode: 'mirror',
    async down() {
      down = true;
      await fake.close();
    },
    teardown: async () => {
      if (!down) await fake.close();
    },
  };
});

listingContract('pipedrive', async () => {
  const fake = await startPipedriveFake();
  for (let id = 1; id <= 450; id++) {
    fake.persons.push({
      id,
      name: `Person ${id}`,
      phones: [{ value: `044 555 ${String(id).padStart(4, '0')}`, primary: true, label: 'work' }],
      update_time: '2026-01-01T00:00:00Z',
    });
  }
  let down = false;
  return {
    source: source(fake, { pageSize: 100 }),
    rows: 450,
    async down() {
      down = true;
      await fake.close();
    },
    teardown: async () => {
      if (!down) await fake.close();
    },
  };
});

describe('pipedrive source', () => {
  let fake: PipedriveFake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let warnings: { row?: number; reason?: string; msg?: string }[];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  let clock: number;

  const engine = () => {
    const lines = new Writable({
      write(chunk, _encoding, done) {
        warnings.push(JSON.parse(String(chunk)));
        done();
      },
    });
    return createSyncEngine({
      store: store.contacts,
      region: 'CH',
      logger: pino({ level: 'warn' }, lines),
      workers: 0,
      now: () => clock,
    });
  };
  const ids = async (key: string) =>
    (await store.contacts.findByKey('pipedrive', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('pipedrive', key, 10))[0];

  beforeEach(async () => {
    fake = await startPipedriveFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.organizations.push(
      {
        id: 10,
        name: 'Müller Maschinen GmbH',
        update_time: '2026-11-01T08:00:00Z',
        address: { value: 'Hauptstr. 1, Berlin', country: 'Germany' },
      },
      {
        id: 11,
        name: 'Helvetia Treuhand AG',
        update_time: '2026-11-01T08:00:00Z',
        address: { country: 'Switzerland' },
      },
    );
    fake.persons.push(
      {
        id: 1,
        name: 'Anna Müller',
        first_name: 'Anna',
        last_name: 'Müller',
        org_id: 10,
        // As typed in Pipedrive: national numbers of the organization's country, the main one not first.
        phones: [
          { value: '0171 2345678', primary: false, label: 'mobile' },
          { value: '030 1234567', primary: true, label: 'work' },
        ],
        update_time: '2026-11-02T08:00:00Z',
      },
      {
        id: 2,
        name: 'Beat Keller',
        org_id: 11,
        phones: [{ value: '044 555 66 77', primary: true, label: 'work' }],
        update_time: '2026-11-02T08:00:00Z',
      },
      {
        id: 3,
        name: 'Chloé Martin',
        org_id: 11,
        // Her own address (contact sync) says France: her national number is French.
        postal_address: { value: 'Paris', country: 'France' },
        phones: [{ value: '01 42 68 53 00', primary: true, label: 'work' }],
        update_time: '2026-11-02T08:00:00Z',
      },
    );
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fake.close();
    await store.close();
    dir.remove();
    expect(fake.violations).toEqual([]);
  });

  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, { companyDomain: 'acme', pageSize: 2, ...settings });
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };

  it('lists persons page by page with the token; company and country from the organization; numbers normalised', async () => {
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ full: true, written: 3, skipped: 0 });
    expect(report.error).toBeUndefined();
    // Read in Germany (the organization's address), not in the default region.
    expect(await ids('+49301234567')).toEqual(['1']);
    expect(await ids('+491712345678')).toEqual(['1']);
    expect(await ids('+41301234567')).toEqual([]);
    expect(await ids('+41445556677')).toEqual(['2']);
    expect(await ids('+33142685300')).toEqual(['3']);
    const anna = await found('+49301234567');
    expect(anna).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: 'https://acme.pipedrive.com/person/1',
      companyUri: 'https://acme.pipedrive.com/organization/10',
      primary: true,
    });
    expect((await found('+491712345678'))?.primary).toBe(false);
    const persons = fake.requests.filter((request) => request.url.pathname === '/api/v2/persons');
    expect(persons.length).toBe(2);
    expect(persons.every((request) => request.headers['x-api-token'] === PIPEDRIVE_TOKEN)).toBe(true);
    expect(persons[1]!.url.searchParams.get('cursor')).toBeTruthy();
  });

  it('an incremental sync asks for the changes since the last one, and re-reads the persons of a changed organization', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.persons[1]!.phones = [{ value: '044 555 00 11', primary: true, label: 'work' }];
    fake.persons[1]!.update_time = '2026-11-26T10:01:00Z';
    fake.organizations[0]!.name = 'Müller Maschinenbau GmbH';
    fake.organizations[0]!.update_time = '2026-11-26T10:01:00Z';
    const report = await sync.sync(entry);
    expect(report).toMatchObject({ full: false, skipped: 0 });
    expect(report.error).toBeUndefined();
    const since = fake.requests
      .filter((request) => request.url.searchParams.has('updated_since'))
      .map((request) => request.url.searchParams.get('updated_since'));
    // The last change seen (2026-11-02T08:00:00Z), less a minute for late commits: organizations, persons.
    expect(since.length).toBeGreaterThanOrEqual(2);
    expect(new Set(since)).toEqual(new Set(['2026-11-02T07:59:00Z']));
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['2']);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
    expect(fake.requests.some((request) => request.url.searchParams.get('org_id') === '10')).toBe(true);
  });

  it('a person changed in an organization not listed in this sync gets its company by id', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.organizations.push({
      id: 12,
      name: 'Nordlicht KG',
      update_time: '2026-10-01T00:00:00Z',
      address: { country: 'Austria' },
    });
    fake.persons.push({
      id: 4,
      name: 'Dora Berger',
      org_id: 12,
      phones: [{ value: '01 5123456', primary: true, label: 'work' }],
      update_time: '2026-11-26T10:01:00Z',
    });
    clock += 120_000;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(fake.requests.some((request) => request.url.searchParams.get('ids') === '12')).toBe(true);
    expect(await found('+4315123456')).toMatchObject({ id: '4', company: 'Nordlicht KG' });
  });

  it('a full sync removes the persons deleted in Pipedrive', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.persons[1]!.is_deleted = true;
    const report = await sync.sync(entry, { full: true });
    expect(report).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+49301234567')).toEqual(['1']);
  });

  it('a 429 is waited out as Retry-After asks, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { success: false, error: 'Too many requests' },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(3);
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    // Not before the second the answer asked for.
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a Retry-After longer than the source waits fails the sync, and the last good data stays', async () => {
    const sync = engine();
    const entry = mirror({ maxRetryWaitMs: 1000 });
    await sync.sync(entry);
    fake.fail({ status: 429, headers: { 'retry-after': '3600' } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/HTTP 429 Too Many Requests \(retry after 3600 s\)/);
    expect(await ids('+41445556677')).toEqual(['2']);
  });

  it('a server error half-way through a sync keeps the last good data and records the error', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.persons[1]!.is_deleted = true;
    fake.persons.push({ id: 4, name: 'Dora Berger', phones: [{ value: '044 555 12 12', primary: true }] });
    // Organizations (one page) and the first page of persons are read; the second page fails.
    fake.failAfter(3, { status: 500, body: { success: false, error: 'internal' } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list \/api\/v2\/persons page 2: HTTP 500 Internal Server Error/);
    expect(await ids('+41445556677')).toEqual(['2']);
    expect(await ids('+41445551212')).toEqual([]);
    expect((await store.contacts.syncState('pipedrive'))?.error).toMatch(/HTTP 500/);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraPersons.push(
      { name: 'No Id', phones: [{ value: '044 111 22 33', primary: true }] },
      { id: 98, name: 'Odd Phones', phones: '044 111 22 44' },
      'not a person',
      { id: 99, name: 'Fine Person', phones: [{ value: '044 111 22 55', primary: true, label: 'work' }] },
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 4, skipped: 3 });
    expect(await ids('+41441112255')).toEqual(['99']);
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      'person 98: phones is not a list',
      'the person has no id',
      'the person is not an object',
    ]);
  });

  it('organizations with phone fields are contacts of their own', async () => {
    fake.organizations[1]!.custom_fields = { a1b2c3: '044 999 00 00' };
    await engine().sync(mirror({ organizationPhoneFields: ['a1b2c3'] }));
    expect(await found('+41449990000')).toMatchObject({ id: 'org-11', company: 'Helvetia Treuhand AG' });
  });

  it('refuses a config with both a token and auth, or with neither', () => {
    expect(() => source(fake, { token: 'x', auth: { type: 'bearer', token: 'y' } })).toThrow(
      'pipedrive source "pipedrive": give either token or auth, not both',
    );
    expect(() => source(fake, { tokenEnv: undefined })).toThrow(/needs token, tokenEnv .* or auth/);
  });

  it('takes OAuth2 (any auth of the rest engine) instead of the token', async () => {
    const report = await engine().sync(
      mirror({
        tokenEnv: undefined,
        auth: { type: 'oauth2', tokenUrl: `${fake.url}/token`, clientId: 'callcard', clientSecret: 's' },
      }),
    );
    expect(report.written).toBe(3);
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer oauth-1');
  });

  it('the example of docs/connectors/pipedrive.md is a valid configuration', async () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/pipedrive.md', 'type: pipedrive')),
    );
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'pipedrive', name: 'pipedrive' });
    vi.stubEnv('PIPEDRIVE_API_TOKEN', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
