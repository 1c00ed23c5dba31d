import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { numberForms } from '../../src/lookup/forms.js';
import { createConnections } from '../../src/oauth/connections.js';
import { sealTokens } from '../../src/oauth/keeper.js';
import { createSealer } from '../../src/oauth/sealing.js';
import { createSource } from '../../src/sources/registry.js';
import {
  createSalesforceSource,
  type SalesforceSourceConfig,
  salesforceSourceSchema,
} from '../../src/sources/salesforce/salesforce-source.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { type ContractSetup, listingContract, sourceContract } from './contract.js';
import {
  SALESFORCE_TOKEN,
  type SalesforceFake,
  type SalesforceRecord,
  sfId,
  sfTime,
  startSalesforceFake,
} from './vendors/salesforce-fake.js';

// Salesforce itself is not reachable from the tests: the fake in vendors/salesforce-fake.ts follows
// its published REST API Developer Guide and Object Reference, and checks requests and answers
// against the extract written from them in vendors/salesforce.schema.json.

const silent = pino({ level: 'silent' });
const env = { SF_SECRET: 'consumer-secret' };

const source = (fake: SalesforceFake, settings: Record<string, unknown> = {}, name = 'salesforce') =>
  createSalesforceSource(
    {
      ...salesforceSourceSchema.parse({
        type: 'salesforce',
        instanceUrl: fake.url,
        clientId: '3MVG9fake',
        clientSecretEnv: 'SF_SECRET',
        ...settings,
      }),
      name,
    } as SalesforceSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const stamp = (iso = '2026-11-02T08:00:00Z') => sfTime(iso);
const person = (n: number, fields: Record<string, unknown>, at?: string): SalesforceRecord => ({
  Id: sfId('003', n),
  SystemModstamp: stamp(at),
  ...fields,
});

/** The fake holding the suite's contacts under Salesforce ids, read back under the suite's own. */
async function contractSetup(
  contacts: readonly RawContact[],
  mode: 'mirror' | 'live',
): Promise<ContractSetup> {
  const fake = await startSalesforceFake();
  fake.objects.Account.push({ Id: sfId('001', 1), Name: 'White Cross Co', SystemModstamp: stamp() });
  contacts.forEach((entry, index) => {
    fake.objects.Contact.push(
      person(index + 1, {
        Name: entry.name,
        Phone: entry.phones[0]!.value,
        ...(entry.phones[1] && { MobilePhone: entry.phones[1].value }),
        ...(entry.company && { AccountId: sfId('001', 1) }),
      }),
    );
  });
  const ids = new Map(contacts.map((entry, index) => [sfId('003', index + 1), entry.id!]));
  const named = (contact: RawContact) => ({ ...contact, id: ids.get(contact.id!) ?? contact.id });
  const made = source(fake);
  let down = false;
  return {
    source: {
      type: made.type,
      name: made.name,
      close: () => made.close!(),
      async *list(options) {
        for await (const batch of made.list!(options)) yield batch.map(named);
      },
      search: async (query, options) => (await made.search!(query, options)).map(named),
    },
    mode,
    async down() {
      down = true;
      await fake.close();
    },
    teardown: async () => {
      if (!down) await fake.close();
    },
  };
}

sourceContract('salesforce', (contacts) => contractSetup(contacts, 'mirror'));
sourceContract('salesforce (live)', (contacts) => contractSetup(contacts, 'live'));

listingContract('salesforce', async () => {
  const fake = await startSalesforceFake({ pageSize: 100 });
  for (let n = 1; n <= 450; n++)
    fake.objects.Contact.push(
      person(n, { Name: `Person ${n}`, Phone: `044 555 ${String(n).padStart(4, '0')}` }),
    );
  let down = false;
  return {
    source: source(fake, { objects: ['Contact'] }),
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

describe('salesforce source', () => {
  let fake: SalesforceFake;
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
    (await store.contacts.findByKey('salesforce', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('salesforce', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const ANNA = sfId('003', 101);
  const BEAT = sfId('003', 102);
  const CHLOE = sfId('003', 103);
  const MUELLER = sfId('001', 601);
  const HELVETIA = sfId('001', 602);
  const LEAD = sfId('00Q', 701);

  beforeEach(async () => {
    fake = await startSalesforceFake({ pageSize: 200 });
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.objects.Account.push(
      {
        Id: MUELLER,
        Name: 'Müller Maschinen GmbH',
        BillingCountry: 'Germany',
        Phone: '030 9876543',
        SystemModstamp: stamp('2026-11-01T08:00:00Z'),
      },
      {
        Id: HELVETIA,
        Name: 'Helvetia Treuhand AG',
        BillingCountry: 'Schweiz',
        SystemModstamp: stamp('2026-11-01T08:00:00Z'),
      },
    );
    fake.objects.Contact.push(
      person(101, {
        Name: 'Anna Müller',
        Phone: '030 1234567',
        MobilePhone: '0171 2345678',
        AccountId: MUELLER,
      }),
      person(102, { Name: 'Beat Keller', Phone: '044 555 66 77', AccountId: HELVETIA }),
      // Her own mailing country wins over her account's.
      person(103, {
        Name: 'Chloé Martin',
        Phone: '01 42 68 53 00',
        MailingCountry: 'France',
        AccountId: HELVETIA,
      }),
    );
    fake.objects.Lead.push(
      {
        Id: LEAD,
        Name: 'Dora Berger',
        Company: 'Nordlicht KG',
        Country: 'Austria',
        Phone: '01 5123456',
        SystemModstamp: stamp(),
      },
      // A converted lead is a contact now: not read twice.
      {
        Id: sfId('00Q', 702),
        Name: 'Anna Müller',
        Company: 'Müller Maschinen GmbH',
        Phone: '030 1234567',
        IsConverted: true,
        SystemModstamp: stamp(),
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

  it('lists accounts, contacts and leads with a client credentials token; company and country from the account; numbers normalised', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 5, skipped: 0 });
    expect(await ids('+49301234567')).toEqual([ANNA]);
    expect(await ids('+491712345678')).toEqual([ANNA]);
    expect(await ids('+41301234567')).toEqual([]);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([CHLOE]);
    expect(await ids('+4315123456')).toEqual([LEAD]);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: `${fake.url}/${ANNA}`,
      companyUri: `${fake.url}/${MUELLER}`,
    });
    expect(await found('+4315123456')).toMatchObject({ name: 'Dora Berger', company: 'Nordlicht KG' });
    // The account with a number is a contact of its own; the one without is not.
    expect(await found('+49309876543')).toMatchObject({ id: MUELLER, company: 'Müller Maschinen GmbH' });
    expect(fake.tokens()).toBe(1);
    expect(fake.statements).toContain(
      'SELECT Id, Name, Company, Country, IsConverted, SystemModstamp, Phone, MobilePhone FROM Lead WHERE IsConverted = false',
    );
    expect(fake.requests.every((request) => request.headers.authorization === 'Bearer oauth-1')).toBe(true);
  });

  it('pages through a listing by nextRecordsUrl', async () => {
    for (let n = 0; n < 250; n++)
      fake.objects.Contact.push(
        person(1000 + n, { Name: `P ${n}`, Phone: `044 777 ${String(n).padStart(4, '0')}` }),
      );
    const report = await engine().sync(mirror({ objects: ['Contact'] }));
    expect(report.written).toBe(253);
    const pages = fake.requests.filter((request) => request.url.pathname.includes('/query'));
    expect(pages.map((request) => request.url.pathname.replace(/FAKE\d+/, 'FAKE'))).toEqual([
      '/services/data/v62.0/query',
      '/services/data/v62.0/query/01gFAKE-200',
    ]);
  });

  it('an incremental sync asks queryAll for the changes since the last one, removes the deleted and re-reads the contacts of a changed account', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    fake.statements.length = 0;
    clock += 120_000;
    const beat = fake.objects.Contact[1]!;
    beat['Phone'] = '044 555 00 11';
    beat['SystemModstamp'] = stamp('2026-11-26T10:01:00Z');
    const chloe = fake.objects.Contact[2]!;
    chloe['IsDeleted'] = true;
    chloe['SystemModstamp'] = stamp('2026-11-26T10:01:00Z');
    const mueller = fake.objects.Account[0]!;
    mueller['Name'] = 'Müller Maschinenbau GmbH';
    mueller['SystemModstamp'] = stamp('2026-11-26T10:01:00Z');
    const lead = fake.objects.Lead[0]!;
    lead['IsConverted'] = true;
    lead['SystemModstamp'] = stamp('2026-11-26T10:01:00Z');
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, skipped: 0 });
    expect(fake.requests.every((request) => request.url.pathname.endsWith('/queryAll'))).toBe(true);
    // The last change seen (2026-11-02T08:00:00Z), less a minute for late commits.
    expect(fake.statements).toEqual([
      'SELECT Id, Name, BillingCountry, ShippingCountry, SystemModstamp, Phone, IsDeleted FROM Account WHERE SystemModstamp >= 2026-11-02T07:59:00Z',
      'SELECT Id, Name, Company, Country, IsConverted, SystemModstamp, Phone, MobilePhone, IsDeleted FROM Lead WHERE SystemModstamp >= 2026-11-02T07:59:00Z',
      'SELECT Id, Name, MailingCountry, AccountId, Account.Name, Account.BillingCountry, SystemModstamp, Phone, MobilePhone, HomePhone, OtherPhone, AssistantPhone, IsDeleted FROM Contact WHERE SystemModstamp >= 2026-11-02T07:59:00Z',
      `SELECT Id, Name, MailingCountry, AccountId, Account.Name, Account.BillingCountry, SystemModstamp, Phone, MobilePhone, HomePhone, OtherPhone, AssistantPhone, IsDeleted FROM Contact WHERE AccountId IN ('${MUELLER}')`,
    ]);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([]);
    expect(await ids('+4315123456')).toEqual([]);
    expect((await found('+49301234567'))?.company).toBe('Müller Maschinenbau GmbH');
  });

  it('a number removed in Salesforce goes from the index in the next incremental sync', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    clock += 120_000;
    const beat = fake.objects.Contact[1]!;
    delete beat['Phone'];
    beat['SystemModstamp'] = stamp('2026-11-26T10:01:00Z');
    expect((await sync.sync(entry)).error).toBeUndefined();
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a full sync removes the records deleted in Salesforce', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.objects.Contact[1]!['IsDeleted'] = true;
    expect(await sync.sync(entry, { full: true })).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a 401 renews the client credentials token once, and the sync completes', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    expect(fake.tokens()).toBe(1);
    fake.revoke();
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(5);
    expect(fake.tokens()).toBe(2);
    expect(fake.requests.at(-1)!.headers.authorization).toBe('Bearer oauth-2');
  });

  it('a 429 and a 503 with Retry-After are waited out, and the sync completes', async () => {
    fake.fail(
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: [{ message: 'limit', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
      },
      {
        status: 503,
        headers: { 'retry-after': '1' },
        body: [{ message: 'down', errorCode: 'SERVER_UNAVAILABLE' }],
      },
    );
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(5);
    const [limited, unavailable, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(unavailable!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(retried!.at - unavailable!.at).toBeGreaterThanOrEqual(950);
  });

  it('a server error half-way through a sync keeps the last good data and records the error', async () => {
    const sync = engine();
    const entry = mirror({ objects: ['Contact'] });
    await sync.sync(entry);
    for (let n = 0; n < 250; n++)
      fake.objects.Contact.push(
        person(1000 + n, { Name: `P ${n}`, Phone: `044 777 ${String(n).padStart(4, '0')}` }),
      );
    fake.objects.Contact[1]!['IsDeleted'] = true;
    // The first page of contacts is read; the second fails.
    fake.failAfter(2, {
      status: 500,
      body: [{ message: 'An unexpected error occurred', errorCode: 'UNKNOWN_EXCEPTION' }],
    });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list Contact page 2: HTTP 500 Internal Server Error/);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+41447770000')).toEqual([]);
    expect((await store.contacts.syncState('salesforce'))?.error).toMatch(/HTTP 500/);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { attributes: { type: 'Contact', url: '/x' }, Name: 'No Id', Phone: '044 111 22 33' },
      { attributes: { type: 'Contact', url: '/x' }, Id: sfId('003', 98), Name: 'Odd', Phone: 41441112233 },
      42,
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 5, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      `contact ${sfId('003', 98)}: Phone is not text`,
      'the contact has no id',
      'the contact is not an object',
    ]);
  });

  it('reads custom number fields when told, and only the objects named', async () => {
    fake.objects.Contact[2]!['Direct_Line__c'] = '+41 79 000 11 22';
    await engine().sync(mirror({ objects: ['Contact'], phoneFields: { Contact: ['Direct_Line__c'] } }));
    expect(await ids('+41790001122')).toEqual([CHLOE]);
    expect(await ids('+49309876543')).toEqual([]);
    expect(await ids('+4315123456')).toEqual([]);
  });

  it('live: finds a number by SOSL in the phone fields, in any of the forms it was typed', async () => {
    fake.objects.Contact[1]!['OtherPhone'] = '+49 (0)30 1234567';
    const made = source(fake, {});
    cleanups.push(() => made.close?.());
    const found = await made.search!(
      { key: '+49301234567', forms: numberForms('+49301234567'), region: 'CH', limit: 5 },
      { signal: new AbortController().signal },
    );
    expect(found.map((contact) => contact.id).sort()).toEqual([ANNA, BEAT]);
    expect(fake.statements.at(-1)).toBe(
      'FIND {49301234567 OR 0301234567 OR 301234567} IN PHONE FIELDS RETURNING ' +
        'Account(Id, Name, BillingCountry, ShippingCountry, SystemModstamp, Phone LIMIT 5), ' +
        'Contact(Id, Name, MailingCountry, AccountId, Account.Name, Account.BillingCountry, SystemModstamp, Phone, MobilePhone, HomePhone, OtherPhone, AssistantPhone LIMIT 5), ' +
        'Lead(Id, Name, Company, Country, IsConverted, SystemModstamp, Phone, MobilePhone WHERE IsConverted = false LIMIT 5)',
    );
    expect(found[0]).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      country: 'Germany',
    });
  });

  it('reads with an OAuth connection (oauth2Code) named after the source, and says when it is not connected', async () => {
    const sealer = createSealer(Buffer.alloc(32, 7));
    const connections = createConnections({ store: store.credentials, sealer, logger: silent });
    const made = createSalesforceSource(
      {
        ...salesforceSourceSchema.parse({
          type: 'salesforce',
          instanceUrl: fake.url,
          objects: ['Contact'],
          auth: {
            type: 'oauth2Code',
            authorizationUrl: `${fake.url}/services/oauth2/authorize`,
            tokenUrl: `${fake.url}/services/oauth2/token`,
            clientId: '3MVG9fake',
            clientSecretEnv: 'SF_SECRET',
            scopes: ['api', 'refresh_token'],
          },
        }),
        name: 'salesforce',
      } as SalesforceSourceConfig,
      { logger: silent, baseDir: process.cwd(), connections },
      { env },
    );
    cleanups.push(() => made.close?.());
    const entry = { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
    expect((await engine().sync(entry)).error).toMatch(/not connected.*callcard connect salesforce/);
    // The tokens a consent leaves in the store, under the source's name.
    await store.credentials.save(
      'salesforce',
      sealTokens(sealer, 'salesforce', {
        accessToken: SALESFORCE_TOKEN,
        refreshToken: 'refresh',
        obtainedAt: clock,
        expiresAt: Date.now() + 3_600_000,
      }),
    );
    const report = await engine().sync(entry);
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(3);
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SALESFORCE_TOKEN}`);
  });

  it('the example of docs/connectors/salesforce.md is a valid configuration', async () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/salesforce.md', 'type: salesforce')),
    );
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'salesforce', name: 'salesforce' });
    vi.stubEnv('SALESFORCE_CLIENT_SECRET', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
