import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import {
  createDynamics365Source,
  type Dynamics365SourceConfig,
  dynamics365SourceSchema,
} from '../../src/sources/dynamics365/dynamics365-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { DYNAMICS_TENANT, type DynamicsFake, guid, startDynamicsFake } from './vendors/dynamics365-fake.js';

// Dataverse itself is not reachable from the tests: the fake in vendors/dynamics365-fake.ts follows
// Microsoft's published Web API reference, and checks requests and answers against the extract
// written from it in vendors/dynamics365.schema.json.

const silent = pino({ level: 'silent' });
const env = { DYNAMICS_SECRET: 'app-secret' };

const source = (fake: DynamicsFake, settings: Record<string, unknown> = {}) =>
  createDynamics365Source(
    {
      ...dynamics365SourceSchema.parse({
        type: 'dynamics365',
        url: fake.url,
        tenantId: DYNAMICS_TENANT,
        authorityUrl: fake.url,
        clientId: '11111111-2222-3333-4444-555555555555',
        clientSecretEnv: 'DYNAMICS_SECRET',
        pageSize: 200,
        ...settings,
      }),
      name: 'dynamics',
    } as Dynamics365SourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

sourceContract('dynamics365', async (contacts: readonly RawContact[]) => {
  const fake = await startDynamicsFake();
  fake.put('accounts', { accountid: guid('account-1'), name: 'White Cross Co' });
  const ids = new Map<string, string>();
  for (const entry of contacts) {
    const id = guid(entry.id!);
    ids.set(id, entry.id!);
    fake.put('contacts', {
      contactid: id,
      fullname: entry.name,
      telephone1: entry.phones[0]!.value,
      ...(entry.phones[1] && { mobilephone: entry.phones[1].value }),
      ...(entry.company && { _parentcustomerid_value: guid('account-1') }),
    });
  }
  const made = source(fake);
  let down = false;
  return {
    source: {
      type: made.type,
      name: made.name,
      close: () => made.close!(),
      async *list(options) {
        for await (const batch of made.list!(options))
          yield batch.map((contact) => ({ ...contact, id: ids.get(contact.id!) ?? contact.id }));
      },
    },
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

listingContract('dynamics365', async () => {
  const fake = await startDynamicsFake();
  for (let n = 1; n <= 450; n++)
    fake.put('contacts', {
      contactid: guid(`c${n}`),
      fullname: `Person ${n}`,
      telephone1: `044 555 ${String(n).padStart(4, '0')}`,
    });
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

describe('dynamics365 source', () => {
  let fake: DynamicsFake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let warnings: { reason?: string; msg?: string }[];
  let clock: number;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const ANNA = guid('anna');
  const BEAT = guid('beat');
  const CHLOE = guid('chloe');
  const MUELLER = guid('mueller');
  const HELVETIA = guid('helvetia');

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
    (await store.contacts.findByKey('dynamics', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('dynamics', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const later = '2026-11-26T10:01:00Z';

  beforeEach(async () => {
    fake = await startDynamicsFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.put('accounts', {
      accountid: MUELLER,
      name: 'Müller Maschinen GmbH',
      address1_country: 'Germany',
      telephone1: '030 9876543',
    });
    fake.put('accounts', { accountid: HELVETIA, name: 'Helvetia Treuhand AG', address1_country: 'Schweiz' });
    fake.put('contacts', {
      contactid: ANNA,
      fullname: 'Anna Müller',
      telephone1: '030 1234567',
      mobilephone: '0171 2345678',
      _parentcustomerid_value: MUELLER,
    });
    fake.put('contacts', {
      contactid: BEAT,
      fullname: 'Beat Keller',
      telephone1: '044 555 66 77',
      _parentcustomerid_value: HELVETIA,
    });
    // Her own address's country wins over her account's.
    fake.put('contacts', {
      contactid: CHLOE,
      fullname: 'Chloé Martin',
      telephone1: '01 42 68 53 00',
      address1_country: 'France',
      _parentcustomerid_value: HELVETIA,
    });
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fake.close();
    await store.close();
    dir.remove();
    expect(fake.violations).toEqual([]);
  });

  it('lists accounts and contacts with a client credentials token from Entra ID; company and country from the account; numbers normalised', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 4, skipped: 0 });
    expect(await ids('+49301234567')).toEqual([ANNA]);
    expect(await ids('+491712345678')).toEqual([ANNA]);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([CHLOE]);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: `${fake.url}/main.aspx?pagetype=entityrecord&etn=contact&id=${ANNA}`,
      companyUri: `${fake.url}/main.aspx?pagetype=entityrecord&etn=account&id=${MUELLER}`,
    });
    expect(await found('+49309876543')).toMatchObject({
      id: `account-${MUELLER}`,
      company: 'Müller Maschinen GmbH',
    });
    expect(fake.tokens()).toBe(1);
    const listing = fake.requests.find((request) => request.url.pathname.endsWith('/contacts'))!;
    expect(listing.headers['prefer']).toBe(
      'odata.track-changes,odata.maxpagesize=200,odata.include-annotations="*"',
    );
    expect(listing.url.searchParams.get('$select')).toBe(
      'contactid,fullname,address1_country,_parentcustomerid_value,modifiedon,telephone1,mobilephone,telephone2,telephone3',
    );
  });

  it('pages through a listing by @odata.nextLink', async () => {
    for (let n = 0; n < 250; n++)
      fake.put('contacts', {
        contactid: guid(`p${n}`),
        fullname: `P ${n}`,
        telephone1: `044 777 ${String(n).padStart(4, '0')}`,
      });
    const report = await engine().sync(mirror({ accounts: false }));
    expect(report.written).toBe(253);
    const pages = fake.requests.filter((request) => request.url.pathname.endsWith('/contacts'));
    expect(pages.map((request) => request.url.searchParams.get('$skiptoken')?.replace(/^c\d+/, 'c'))).toEqual(
      [undefined, 'c-200'],
    );
  });

  it('an incremental sync follows the delta links: changes, removed records, and the contacts of a renamed account', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.put(
      'contacts',
      {
        contactid: BEAT,
        fullname: 'Beat Keller',
        telephone1: '044 555 00 11',
        _parentcustomerid_value: HELVETIA,
      },
      later,
    );
    fake.remove('contacts', CHLOE);
    fake.put(
      'accounts',
      {
        accountid: MUELLER,
        name: 'Müller Maschinenbau GmbH',
        address1_country: 'Germany',
        telephone1: '030 9876543',
      },
      later,
    );
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, skipped: 0 });
    const asked = fake.requests.map((request) => [
      request.url.pathname.split('/').at(-1),
      request.url.searchParams.has('$deltatoken'),
      request.url.searchParams.get('$filter'),
    ]);
    expect(asked).toEqual([
      ['accounts', true, null],
      ['contacts', true, null],
      ['contacts', false, `_parentcustomerid_value eq ${MUELLER}`],
    ]);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([]);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
  });

  it('a new process on the same store follows the delta links kept there, and asks the accounts of the contacts it reads', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    fake.put(
      'contacts',
      {
        contactid: BEAT,
        fullname: 'Beat Keller',
        telephone1: '01 5123499',
        _parentcustomerid_value: MUELLER,
      },
      later,
    );
    fake.remove('contacts', CHLOE);
    fake.requests.length = 0;
    // A restarted service: a new engine and a new source, nothing in memory; the store keeps the links.
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, removed: 1 });
    const asked = fake.requests.map((request) => [
      request.url.pathname.split('/').at(-1),
      request.url.searchParams.has('$deltatoken'),
      request.url.searchParams.get('$filter'),
    ]);
    expect(asked).toEqual([
      ['accounts', true, null],
      ['contacts', true, null],
      ['accounts', false, `accountid eq ${MUELLER}`],
    ]);
    // Read in his account's country (Germany), with its name.
    expect(await found('+4915123499')).toMatchObject({ id: BEAT, company: 'Müller Maschinen GmbH' });
    expect(await ids('+33142685300')).toEqual([]);
  });

  it('a delta link Dataverse refuses is followed by a new tracked listing', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    clock += 120_000;
    fake.put('contacts', { contactid: BEAT, fullname: 'Beat Keller', telephone1: '044 555 00 11' }, later);
    fake.refuseDeltas();
    fake.requests.length = 0;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(await ids('+41445550011')).toEqual([BEAT]);
    expect(
      fake.requests.filter((request) => !request.url.searchParams.has('$deltatoken')).length,
    ).toBeGreaterThan(0);
  });

  it('a delta that failed half-way is asked again from the same link', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    clock += 120_000;
    fake.put('contacts', { contactid: BEAT, fullname: 'Beat Keller', telephone1: '044 555 00 11' }, later);
    fake.failAfter(2, { status: 503, body: { error: { code: '0x80040216', message: 'unavailable' } } });
    expect((await sync.sync(entry)).error).toMatch(/changes of contacts page 1: HTTP 503/);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect((await sync.sync(entry)).error).toBeUndefined();
    expect(await ids('+41445550011')).toEqual([BEAT]);
  });

  it('a full sync removes the records deleted in Dataverse', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.remove('contacts', BEAT);
    expect(await sync.sync(entry, { full: true })).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a 401 renews the client credentials token once, and the sync completes', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.revoke();
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(4);
    expect(fake.tokens()).toBe(2);
  });

  it('a 429 with Retry-After (a service protection limit) is waited out, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: '0x80072322', message: 'Number of requests exceeded' } },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a server error half-way through a sync keeps the last good data and records the error', async () => {
    const sync = engine();
    const entry = mirror({ accounts: false });
    await sync.sync(entry);
    for (let n = 0; n < 250; n++)
      fake.put('contacts', {
        contactid: guid(`p${n}`),
        fullname: `P ${n}`,
        telephone1: `044 777 ${String(n).padStart(4, '0')}`,
      });
    fake.remove('contacts', BEAT);
    // Accounts and the first page of contacts are read; the second page fails.
    fake.failAfter(3, { status: 500, body: { error: { code: '0x80040216', message: 'error' } } });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list contacts page 2: HTTP 500/);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+41447770000')).toEqual([]);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { fullname: 'No Id', telephone1: '044 111 22 33' },
      { contactid: guid('odd'), fullname: 'Odd', telephone1: 41 },
      42,
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 4, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      `contact ${guid('odd')}: telephone1 is not text`,
      'the contact has no id',
      'the contact is not an object',
    ]);
  });

  it('the example of docs/connectors/dynamics365.md is a valid configuration', async () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/dynamics365.md', 'type: dynamics365')),
    );
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'dynamics365', name: 'dynamics' });
    vi.stubEnv('DYNAMICS_CLIENT_SECRET', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
