import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createSource } from '../../src/sources/registry.js';
import {
  createWeclappSource,
  type WeclappSourceConfig,
  weclappSourceSchema,
} from '../../src/sources/weclapp/weclapp-source.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { startWeclappFake, WECLAPP_TOKEN, type WeclappFake } from './vendors/weclapp-fake.js';

// weclapp itself is not reachable from the tests: the fake in vendors/weclapp-fake.ts follows its
// published OpenAPI document, and checks its answers against the extract in vendors/weclapp.schema.json.

const silent = pino({ level: 'silent' });
const env = { WECLAPP_TOKEN };

const source = (fake: WeclappFake, settings: Record<string, unknown> = {}) =>
  createWeclappSource(
    {
      ...weclappSourceSchema.parse({
        type: 'weclapp',
        tokenEnv: 'WECLAPP_TOKEN',
        baseUrl: fake.api,
        ...settings,
      }),
      name: 'weclapp',
    } as WeclappSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const T0 = Date.parse('2026-11-02T08:00:00Z');

sourceContract('weclapp', async (contacts) => {
  const fake = await startWeclappFake();
  fake.parties.push({
    id: '900',
    partyType: 'ORGANIZATION',
    company: 'White Cross Co',
    lastModifiedDate: T0,
    contacts: [{ id: 'a1' }],
  });
  for (const entry of contacts) {
    const [first, ...last] = entry.name!.split(' ');
    fake.parties.push({
      id: entry.id!,
      partyType: 'PERSON',
      firstName: first,
      lastName: last.join(' '),
      phone: entry.phones[0]!.value,
      ...(entry.phones[1] && { mobilePhone1: entry.phones[1].value }),
      lastModifiedDate: T0,
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

listingContract('weclapp', async () => {
  const fake = await startWeclappFake();
  for (let id = 1; id <= 450; id++) {
    fake.parties.push({
      id: String(id),
      partyType: 'PERSON',
      lastName: `Person ${id}`,
      phone: `044 555 ${String(id).padStart(4, '0')}`,
      lastModifiedDate: T0,
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

describe('weclapp source', () => {
  let fake: WeclappFake;
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
    (await store.contacts.findByKey('weclapp', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('weclapp', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, { pageSize: 2, ...settings });
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };

  beforeEach(async () => {
    fake = await startWeclappFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.parties.push(
      {
        id: '10',
        partyType: 'ORGANIZATION',
        company: 'Müller Maschinen GmbH',
        phone: '030 9876543',
        addresses: [{ id: '100', countryCode: 'DE', city: 'Berlin', primaryAddress: true }],
        primaryAddressId: '100',
        contacts: [{ id: '11' }],
        lastModifiedDate: T0,
      },
      {
        id: '11',
        partyType: 'PERSON',
        firstName: 'Anna',
        lastName: 'Müller',
        phone: '030 1234567',
        mobilePhone1: '0171 2345678',
        lastModifiedDate: T0,
      },
      {
        id: '20',
        partyType: 'ORGANIZATION',
        company: 'Helvetia Treuhand AG',
        addresses: [{ id: '200', countryCode: 'CH' }],
        contacts: [{ id: '21' }, { id: '22' }],
        lastModifiedDate: T0,
      },
      {
        id: '21',
        partyType: 'PERSON',
        firstName: 'Beat',
        lastName: 'Keller',
        phone: '044 555 66 77',
        lastModifiedDate: T0,
      },
      // Her own address says France: her national number is French.
      {
        id: '22',
        partyType: 'PERSON',
        firstName: 'Chloé',
        lastName: 'Martin',
        phone: '01 42 68 53 00',
        addresses: [{ id: '220', countryCode: 'FR', primaryAddress: true }],
        lastModifiedDate: T0,
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

  it('lists organizations, then persons page by page with the token; company and country from the organization', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    // Helvetia has no number: not a contact (and nothing skipped for it).
    expect(report).toMatchObject({ full: true, written: 4, skipped: 0 });
    expect(await ids('+49301234567')).toEqual(['11']);
    expect(await ids('+491712345678')).toEqual(['11']);
    expect(await ids('+41301234567')).toEqual([]);
    expect(await ids('+41445556677')).toEqual(['21']);
    expect(await ids('+33142685300')).toEqual(['22']);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      primary: true,
    });
    expect(await found('+33142685300')).toMatchObject({ company: 'Helvetia Treuhand AG' });
    expect(await found('+49309876543')).toMatchObject({ id: '10', company: 'Müller Maschinen GmbH' });
    expect(fake.requests.every((request) => request.headers['authenticationtoken'] === WECLAPP_TOKEN)).toBe(
      true,
    );
    const persons = fake.requests.filter(
      (request) => request.url.searchParams.get('partyType-eq') === 'PERSON',
    );
    expect(persons.map((request) => request.url.searchParams.get('page'))).toEqual(['1', '2']);
  });

  it('an incremental sync asks for the changes since the last one, and re-reads the persons of a changed organization', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    const later = Date.parse('2026-11-26T10:01:00Z');
    Object.assign(fake.parties[3]!, { phone: '044 555 00 11', lastModifiedDate: later });
    Object.assign(fake.parties[0]!, { company: 'Müller Maschinenbau GmbH', lastModifiedDate: later });
    const report = await sync.sync(entry);
    expect(report).toMatchObject({ full: false, skipped: 0 });
    expect(report.error).toBeUndefined();
    const since = fake.requests
      .map((request) => request.url.searchParams.get('lastModifiedDate-ge'))
      .filter(Boolean);
    // The last change seen, less a minute for late commits.
    expect(new Set(since)).toEqual(new Set([String(T0 - 60_000)]));
    expect(fake.requests.some((request) => request.url.searchParams.get('id-in') === '["11"]')).toBe(true);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['21']);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
  });

  it('after a restart, the first incremental sync reads the organizations in full, so persons keep their country', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    Object.assign(fake.parties[1]!, {
      mobilePhone1: '0171 9999999',
      lastModifiedDate: Date.parse('2026-11-26T10:01:00Z'),
    });
    // Another process: the same store, a new source that knows nothing yet.
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ full: false });
    expect(await ids('+491719999999')).toEqual(['11']);
  });

  it('a full sync removes the parties deleted in weclapp', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.parties.splice(3, 1);
    expect(await sync.sync(entry, { full: true })).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a 429 is waited out as Retry-After asks, and the sync completes', async () => {
    fake.fail({ status: 429, headers: { 'retry-after': '1' } });
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
    fake.parties.splice(3, 1);
    // Organizations (a full page, then an empty one), then persons page 1; page 2 fails.
    fake.failAfter(4, { status: 503, body: { title: 'maintenance' } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list parties page 2: HTTP 503 Service Unavailable/);
    expect(await ids('+41445556677')).toEqual(['21']);
    expect((await store.contacts.syncState('weclapp'))?.error).toMatch(/HTTP 503/);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraParties.push(
      { partyType: 'PERSON', lastName: 'No Id', phone: '044 111 22 33' },
      { id: '98', partyType: 'PERSON', lastName: 'Odd', phone: 441112244 },
      null,
    );
    const report = await engine().sync(mirror({ pageSize: 100 }));
    expect(report).toMatchObject({ written: 4, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      'party 98: phone is not text',
      'the party has no id',
      'the party is not an object',
    ]);
  });

  it('needs a tenant or a base URL', () => {
    expect(() =>
      createWeclappSource(
        {
          ...weclappSourceSchema.parse({ type: 'weclapp', token: 'x' }),
          name: 'weclapp',
        } as WeclappSourceConfig,
        { logger: silent, baseDir: process.cwd() },
      ),
    ).toThrow('weclapp source "weclapp": needs tenant (acme of acme.weclapp.com) or baseUrl');
  });

  it('the example of docs/connectors/weclapp.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/weclapp.md', 'type: weclapp')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'weclapp', name: 'weclapp', tenant: 'acme' });
    vi.stubEnv('WECLAPP_TOKEN', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
