import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  type BexioSourceConfig,
  bexioSourceSchema,
  createBexioSource,
} from '../../src/sources/bexio/bexio-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { BEXIO_TOKEN, type BexioFake, startBexioFake } from './vendors/bexio-fake.js';

// bexio itself is not reachable from the tests: the fake in vendors/bexio-fake.ts follows its
// published API reference, and checks requests and answers against the extract in vendors/bexio.schema.json.

const silent = pino({ level: 'silent' });
const env = { BEXIO_TOKEN };

const source = (fake: BexioFake, settings: Record<string, unknown> = {}) =>
  createBexioSource(
    {
      ...bexioSourceSchema.parse({ type: 'bexio', tokenEnv: 'BEXIO_TOKEN', baseUrl: fake.url, ...settings }),
      name: 'bexio',
    } as BexioSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

/** bexio's wall-clock time in Zurich: 09:00 in November is 08:00 UTC. */
const T0 = '2026-11-02 09:00:00';

sourceContract('bexio', async (contacts) => {
  const fake = await startBexioFake({ strict: false });
  fake.contacts.push({ id: 900, contact_type_id: 1, name_1: 'White Cross Co', updated_at: T0 });
  fake.relations.push({ id: 1, contact_id: 900, contact_sub_id: 'a1' as unknown as number });
  for (const entry of contacts) {
    const [first, ...last] = entry.name!.split(' ');
    fake.contacts.push({
      id: entry.id!,
      contact_type_id: 2,
      name_1: last.join(' '),
      name_2: first!,
      phone_fixed: entry.phones[0]!.value,
      phone_mobile: entry.phones[1]?.value ?? null,
      updated_at: T0,
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

listingContract('bexio', async () => {
  const fake = await startBexioFake();
  for (let id = 1; id <= 450; id++) {
    fake.contacts.push({
      id,
      contact_type_id: 2,
      name_1: `Person ${id}`,
      phone_fixed: `044 555 ${String(id).padStart(4, '0')}`,
      updated_at: T0,
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

describe('bexio source', () => {
  let fake: BexioFake;
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
    (await store.contacts.findByKey('bexio', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('bexio', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, { pageSize: 2, ...settings });
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const searches = () =>
    fake.requests
      .filter((request) => request.url.pathname === '/2.0/contact/search')
      .map((request) => request.body as { field: string; value: unknown; criteria: string }[]);

  beforeEach(async () => {
    fake = await startBexioFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.contacts.push(
      {
        id: 10,
        contact_type_id: 1,
        name_1: 'Müller Maschinen GmbH',
        country_id: 2,
        phone_fixed: '030 9876543',
        updated_at: T0,
      },
      {
        id: 11,
        contact_type_id: 2,
        name_1: 'Müller',
        name_2: 'Anna',
        phone_fixed: '030 1234567',
        phone_mobile: '0171 2345678',
        updated_at: T0,
      },
      { id: 20, contact_type_id: 1, name_1: 'Helvetia Treuhand AG', country_id: 1, updated_at: T0 },
      {
        id: 21,
        contact_type_id: 2,
        name_1: 'Keller',
        name_2: 'Beat',
        phone_fixed: '044 555 66 77',
        updated_at: T0,
      },
      // Her own address is in France: her national number is French.
      {
        id: 22,
        contact_type_id: 2,
        name_1: 'Martin',
        name_2: 'Chloé',
        country_id: 3,
        phone_fixed: '01 42 68 53 00',
        updated_at: T0,
      },
    );
    fake.relations.push(
      { id: 1, contact_id: 10, contact_sub_id: 11 },
      { id: 2, contact_id: 20, contact_sub_id: 21 },
      { id: 3, contact_id: 20, contact_sub_id: 22 },
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

  it('lists companies, then persons page by page with the token; company and country from the relation', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
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
    expect(fake.requests.every((request) => request.headers.authorization === `Bearer ${BEXIO_TOKEN}`)).toBe(
      true,
    );
    expect(searches().map((criteria) => criteria[0]!.value)).toEqual([1, 1, 2, 2]);
  });

  it('an incremental sync asks for the changes since the last one in bexio time, and re-reads the persons of a changed company', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    Object.assign(fake.contacts[3]!, { phone_fixed: '044 555 00 11', updated_at: '2026-11-26 11:01:00' });
    Object.assign(fake.contacts[0]!, {
      name_1: 'Müller Maschinenbau GmbH',
      updated_at: '2026-11-26 11:01:00',
    });
    const report = await sync.sync(entry);
    expect(report).toMatchObject({ full: false, skipped: 0 });
    expect(report.error).toBeUndefined();
    const since = searches().flatMap((criteria) =>
      criteria.filter((criterion) => criterion.field === 'updated_at'),
    );
    // The last change seen (09:00 in Zurich), less a minute for late commits, in Zurich time again.
    expect(since[0]).toEqual({ field: 'updated_at', value: '2026-11-02 08:59:00', criteria: '>=' });
    expect(searches().some((criteria) => criteria.some((criterion) => criterion.criteria === 'in'))).toBe(
      true,
    );
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['21']);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
  });

  it('after a restart, the first incremental sync reads the companies in full, so persons keep their country', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    Object.assign(fake.contacts[1]!, { phone_mobile: '0171 9999999', updated_at: '2026-11-26 11:01:00' });
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ full: false });
    expect(await ids('+491719999999')).toEqual(['11']);
  });

  it('a full sync removes the contacts deleted or archived in bexio', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.contacts[3]!.archived = true;
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
    fake.contacts[3]!.archived = true;
    // Countries (three pages of two), relations (two), companies (two), persons page 1; page 2 fails.
    fake.failAfter(9, { status: 500, body: { error_code: 500 } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/search \/2.0\/contact\/search page 2: HTTP 500/);
    expect(await ids('+41445556677')).toEqual(['21']);
    expect((await store.contacts.syncState('bexio'))?.error).toMatch(/HTTP 500/);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { contact_type_id: 2, name_1: 'No Id', phone_fixed: '044 111 22 33' },
      { id: 98, contact_type_id: 2, name_1: 'Odd', phone_fixed: 441112244 },
      'x',
    );
    const report = await engine().sync(mirror({ pageSize: 100 }));
    expect(report).toMatchObject({ written: 4, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      'contact 98: phone_fixed is not text',
      'the contact has no id',
      'the contact is not an object',
    ]);
  });

  it('the example of docs/connectors/bexio.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/bexio.md', 'type: bexio')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'bexio', name: 'bexio' });
    vi.stubEnv('BEXIO_TOKEN', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
