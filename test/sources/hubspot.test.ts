import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createHubspotSource,
  type HubspotSourceConfig,
  hubspotSourceSchema,
} from '../../src/sources/hubspot/hubspot-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { HUBSPOT_TOKEN, type HubspotFake, startHubspotFake } from './vendors/hubspot-fake.js';

// HubSpot itself is not reachable from the tests: the fake in vendors/hubspot-fake.ts follows its
// published OpenAPI documents, and checks requests and answers against the extract of them in
// vendors/hubspot.schema.json.

const silent = pino({ level: 'silent' });
const env = { HUBSPOT_TOKEN };

const source = (fake: HubspotFake, settings: Record<string, unknown> = {}) =>
  createHubspotSource(
    {
      ...hubspotSourceSchema.parse({
        type: 'hubspot',
        tokenEnv: 'HUBSPOT_TOKEN',
        baseUrl: fake.url,
        ...settings,
      }),
      name: 'hubspot',
    } as HubspotSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const contact = (id: string, properties: Record<string, string>, updated = '2026-11-02T08:00:00.000Z') => ({
  id,
  properties: { ...properties, hs_lastmodifieddate: updated },
  updatedAt: updated,
});

sourceContract('hubspot', async (contacts) => {
  const fake = await startHubspotFake();
  fake.companies.push({
    id: '501',
    properties: { name: 'White Cross Co', hs_lastmodifieddate: '2026-01-01T00:00:00.000Z' },
    updatedAt: '2026-01-01T00:00:00.000Z',
  });
  for (const entry of contacts) {
    const [first, ...last] = entry.name!.split(' ');
    fake.contacts.push(
      contact(entry.id!, {
        firstname: first!,
        lastname: last.join(' '),
        phone: entry.phones[0]!.value,
        ...(entry.phones[1] && { mobilephone: entry.phones[1].value }),
        ...(entry.company && { associatedcompanyid: '501' }),
      }),
    );
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

listingContract('hubspot', async () => {
  const fake = await startHubspotFake();
  for (let id = 1; id <= 450; id++) {
    fake.contacts.push(
      contact(String(id), {
        firstname: 'Person',
        lastname: String(id),
        phone: `044 555 ${String(id).padStart(4, '0')}`,
      }),
    );
  }
  let down = false;
  return {
    source: source(fake, { companies: false }),
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

describe('hubspot source', () => {
  let fake: HubspotFake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let warnings: { reason?: string; msg?: string }[];
  let clock: number;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  const engine = () =>
    createSyncEngine({
      store: store.contacts,
      region: 'CH',
      logger: pino(
        { level: 'warn' },
        new Writable({
          write(chunk, _encoding, done) {
            warnings.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      ),
      workers: 0,
      now: () => clock,
    });
  const ids = async (key: string) =>
    (await store.contacts.findByKey('hubspot', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('hubspot', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, { portalId: 4242, ...settings });
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };

  beforeEach(async () => {
    fake = await startHubspotFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.companies.push(
      {
        id: '601',
        properties: {
          name: 'Müller Maschinen GmbH',
          country: 'Germany',
          phone: '030 9876543',
          hs_lastmodifieddate: '2026-11-01T08:00:00.000Z',
        },
        updatedAt: '2026-11-01T08:00:00.000Z',
      },
      {
        id: '602',
        properties: {
          name: 'Helvetia Treuhand AG',
          country: 'Schweiz',
          hs_lastmodifieddate: '2026-11-01T08:00:00.000Z',
        },
        updatedAt: '2026-11-01T08:00:00.000Z',
      },
    );
    fake.contacts.push(
      contact('101', {
        firstname: 'Anna',
        lastname: 'Müller',
        phone: '030 1234567',
        mobilephone: '0171 2345678',
        associatedcompanyid: '601',
      }),
      contact('102', {
        firstname: 'Beat',
        lastname: 'Keller',
        phone: '044 555 66 77',
        associatedcompanyid: '602',
      }),
      // Her own country wins over her company's; her company text is kept when she has no company record.
      contact('103', {
        firstname: 'Chloé',
        lastname: 'Martin',
        phone: '01 42 68 53 00',
        country: 'France',
        company: 'Martin SARL',
      }),
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

  it('lists contacts and companies with the token; company and country from the company; numbers normalised', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 4, skipped: 0 });
    expect(await ids('+49301234567')).toEqual(['101']);
    expect(await ids('+491712345678')).toEqual(['101']);
    expect(await ids('+41301234567')).toEqual([]);
    expect(await ids('+41445556677')).toEqual(['102']);
    expect(await ids('+33142685300')).toEqual(['103']);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: 'https://app.hubspot.com/contacts/4242/record/0-1/101',
      companyUri: 'https://app.hubspot.com/contacts/4242/record/0-2/601',
      primary: true,
    });
    expect(await found('+33142685300')).toMatchObject({ company: 'Martin SARL' });
    // The company with a number is a contact of its own; the one without is not.
    expect(await found('+49309876543')).toMatchObject({
      id: 'company-601',
      company: 'Müller Maschinen GmbH',
    });
    expect(
      fake.requests.every((request) => request.headers.authorization === `Bearer ${HUBSPOT_TOKEN}`),
    ).toBe(true);
  });

  it('pages through the listing by its cursor', async () => {
    for (let n = 0; n < 150; n++)
      fake.contacts.push(
        contact(String(1000 + n), {
          firstname: 'P',
          lastname: String(n),
          phone: `044 777 ${String(n).padStart(4, '0')}`,
        }),
      );
    const report = await engine().sync(mirror());
    expect(report.written).toBe(154);
    const pages = fake.requests.filter((request) => request.url.pathname === '/crm/v3/objects/contacts');
    expect(pages.map((request) => request.url.searchParams.get('after'))).toEqual([null, '100']);
  });

  it('an incremental sync searches the changes since the last one, and re-reads the contacts of a changed company', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.contacts[1]!.properties['phone'] = '044 555 00 11';
    fake.contacts[1]!.properties['hs_lastmodifieddate'] = '2026-11-26T10:01:00.000Z';
    fake.companies[0]!.properties['name'] = 'Müller Maschinenbau GmbH';
    fake.companies[0]!.properties['hs_lastmodifieddate'] = '2026-11-26T10:01:00.000Z';
    const report = await sync.sync(entry);
    expect(report).toMatchObject({ full: false, skipped: 0 });
    expect(report.error).toBeUndefined();
    const searches = fake.requests.filter((request) => request.url.pathname.endsWith('/search'));
    const filters = searches.map(
      (request) => (request.body as { filterGroups: { filters: unknown[] }[] }).filterGroups[0]!.filters[0],
    );
    // The last change seen (2026-11-02T08:00:00Z), less a minute for late commits.
    expect(filters).toEqual([
      {
        propertyName: 'hs_lastmodifieddate',
        operator: 'GTE',
        value: String(Date.parse('2026-11-02T07:59:00Z')),
      },
      {
        propertyName: 'hs_lastmodifieddate',
        operator: 'GTE',
        value: String(Date.parse('2026-11-02T07:59:00Z')),
      },
      { propertyName: 'associatedcompanyid', operator: 'IN', values: ['601'] },
    ]);
    expect(fake.requests.some((request) => request.method === 'GET')).toBe(false);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['102']);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
  });

  it('a contact changed in a company not listed in this sync gets its company by id', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.companies.push({
      id: '603',
      properties: {
        name: 'Nordlicht KG',
        country: 'Austria',
        hs_lastmodifieddate: '2026-10-01T00:00:00.000Z',
      },
      updatedAt: '2026-10-01T00:00:00.000Z',
    });
    fake.contacts.push(
      contact(
        '104',
        { firstname: 'Dora', lastname: 'Berger', phone: '01 5123456', associatedcompanyid: '603' },
        '2026-11-26T10:01:00.000Z',
      ),
    );
    clock += 120_000;
    expect((await sync.sync(entry)).error).toBeUndefined();
    expect(fake.requests.some((request) => request.url.pathname.endsWith('/batch/read'))).toBe(true);
    expect(await found('+4315123456')).toMatchObject({ id: '104', company: 'Nordlicht KG' });
  });

  it('more changes than a search can give are listed in full instead', async () => {
    const sync = engine();
    const entry = mirror({ companies: false });
    await sync.sync(entry);
    for (let n = 0; n < 10_001; n++) {
      fake.contacts.push(
        contact(
          String(20_000 + n),
          { firstname: 'P', lastname: String(n), phone: `+41 44 8${String(n).padStart(6, '0')}` },
          '2026-11-26T10:01:00.000Z',
        ),
      );
    }
    clock += 120_000;
    fake.requests.length = 0;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(10_004);
    expect(
      fake.requests.filter((request) => request.url.pathname === '/crm/v3/objects/contacts/search'),
    ).toHaveLength(1);
    expect(await ids('+41448010000')).toEqual(['30000']);
  });

  it('a full sync removes the contacts archived in HubSpot', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.contacts[1]!.archived = true;
    expect(await sync.sync(entry, { full: true })).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a 429 is waited out as Retry-After asks, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { status: 'error', category: 'RATE_LIMITS' },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a server error half-way through a sync keeps the last good data and records the error', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    for (let n = 0; n < 120; n++)
      fake.contacts.push(
        contact(String(1000 + n), {
          firstname: 'P',
          lastname: String(n),
          phone: `044 777 ${String(n).padStart(4, '0')}`,
        }),
      );
    fake.contacts[1]!.archived = true;
    // Companies (one page) and the first page of contacts are read; the second page fails.
    fake.failAfter(3, { status: 502, body: { status: 'error' } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list contacts page 2: HTTP 502 Bad Gateway/);
    expect(await ids('+41445556677')).toEqual(['102']);
    expect(await ids('+41447770000')).toEqual([]);
    expect((await store.contacts.syncState('hubspot'))?.error).toMatch(/HTTP 502/);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { properties: { firstname: 'No', lastname: 'Id', phone: '044 111 22 33' } },
      { id: '98' },
      42,
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 4, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      'contact 98: no properties',
      'the contact has no id',
      'the contact is not an object',
    ]);
  });

  it('reads other number properties when told, and leaves companies out when told', async () => {
    fake.contacts[2]!.properties['hs_whatsapp_phone_number'] = '+41 79 000 11 22';
    await engine().sync(mirror({ phoneProperties: ['hs_whatsapp_phone_number'], companies: false }));
    expect(await ids('+41790001122')).toEqual(['103']);
    expect(await ids('+49309876543')).toEqual([]);
  });

  it('the example of docs/connectors/hubspot.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/hubspot.md', 'type: hubspot')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'hubspot', name: 'hubspot' });
    vi.stubEnv('HUBSPOT_TOKEN', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
