import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { createConnections } from '../../src/oauth/connections.js';
import { sealTokens } from '../../src/oauth/keeper.js';
import { createSealer } from '../../src/oauth/sealing.js';
import {
  createZohoSource,
  type ZohoSourceConfig,
  zohoSourceSchema,
} from '../../src/sources/zoho/zoho-source.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { startZohoFake, type ZohoFake } from './vendors/zoho-fake.js';

// Zoho itself is not reachable from the tests: the fake in vendors/zoho-fake.ts follows Zoho's
// published OpenAPI document for CRM API v8 Records, and checks requests and answers against the
// extract of it in vendors/zoho.schema.json.

const silent = pino({ level: 'silent' });

const source = (fake: ZohoFake, settings: Record<string, unknown> = {}) =>
  createZohoSource(
    {
      ...zohoSourceSchema.parse({
        type: 'zoho',
        dataCentre: 'eu',
        apiDomain: fake.url,
        // The tests' stand-in for the OAuth connection: a token from the fake's own endpoint.
        auth: { type: 'oauth2', tokenUrl: `${fake.url}/token`, clientId: '1000.FAKE', clientSecret: 's' },
        ...settings,
      }),
      name: 'zoho',
    } as ZohoSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env: {} },
  );

const contactId = (n: number) => String(5_725_767_000_000_100_000n + BigInt(n));

sourceContract('zoho', async (contacts: readonly RawContact[]) => {
  const fake = await startZohoFake();
  fake.put('Accounts', { id: '5725767000000200001', Account_Name: 'White Cross Co' });
  const ids = new Map<string, string>();
  contacts.forEach((entry, index) => {
    const id = contactId(index + 1);
    ids.set(id, entry.id!);
    fake.put('Contacts', {
      id,
      Full_Name: entry.name,
      Phone: entry.phones[0]!.value,
      ...(entry.phones[1] && { Mobile: entry.phones[1].value }),
      ...(entry.company && { Account_Name: { name: 'White Cross Co', id: '5725767000000200001' } }),
    });
  });
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

listingContract('zoho', async () => {
  const fake = await startZohoFake();
  for (let n = 1; n <= 450; n++)
    fake.put('Contacts', {
      id: contactId(n),
      Full_Name: `Person ${n}`,
      Phone: `044 555 ${String(n).padStart(4, '0')}`,
    });
  let down = false;
  return {
    source: source(fake, { modules: ['Contacts'] }),
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

describe('zoho source', () => {
  let fake: ZohoFake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let warnings: { reason?: string; msg?: string }[];
  let clock: number;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const ANNA = contactId(101);
  const BEAT = contactId(102);
  const CHLOE = contactId(103);
  const MUELLER = '5725767000000200601';
  const HELVETIA = '5725767000000200602';
  const LEAD = '5725767000000300701';

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
    (await store.contacts.findByKey('zoho', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('zoho', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const later = '2026-11-26T10:01:00Z';

  beforeEach(async () => {
    fake = await startZohoFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    warnings = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.put('Accounts', {
      id: MUELLER,
      Account_Name: 'Müller Maschinen GmbH',
      Billing_Country: 'Germany',
      Phone: '030 9876543',
    });
    fake.put('Accounts', { id: HELVETIA, Account_Name: 'Helvetia Treuhand AG', Billing_Country: 'Schweiz' });
    fake.put('Contacts', {
      id: ANNA,
      Full_Name: 'Anna Müller',
      Phone: '030 1234567',
      Mobile: '0171 2345678',
      Account_Name: { name: 'Müller Maschinen GmbH', id: MUELLER },
    });
    fake.put('Contacts', {
      id: BEAT,
      Full_Name: 'Beat Keller',
      Phone: '044 555 66 77',
      Account_Name: { name: 'Helvetia Treuhand AG', id: HELVETIA },
    });
    // Her own mailing country wins over her account's.
    fake.put('Contacts', {
      id: CHLOE,
      Full_Name: 'Chloé Martin',
      Phone: '01 42 68 53 00',
      Mailing_Country: 'France',
      Account_Name: { name: 'Helvetia Treuhand AG', id: HELVETIA },
    });
    fake.put('Leads', {
      id: LEAD,
      Full_Name: 'Dora Berger',
      Company: 'Nordlicht KG',
      Country: 'Austria',
      Phone: '01 5123456',
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

  it('lists accounts, leads and contacts with Zoho-oauthtoken; company and country from the account; numbers normalised', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 5, skipped: 0 });
    expect(await ids('+49301234567')).toEqual([ANNA]);
    expect(await ids('+491712345678')).toEqual([ANNA]);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([CHLOE]);
    expect(await ids('+4315123456')).toEqual([`lead-${LEAD}`]);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: `https://crm.zoho.eu/crm/tab/Contacts/${ANNA}`,
      companyUri: `https://crm.zoho.eu/crm/tab/Accounts/${MUELLER}`,
    });
    expect(await found('+49309876543')).toMatchObject({
      id: `account-${MUELLER}`,
      company: 'Müller Maschinen GmbH',
    });
    expect(
      fake.requests.every((request) => request.headers.authorization === 'Zoho-oauthtoken oauth-1'),
    ).toBe(true);
    expect(fake.requests.map((request) => request.url.pathname)).toEqual([
      '/crm/v8/Accounts',
      '/crm/v8/Leads',
      '/crm/v8/Contacts',
    ]);
  });

  it('pages through a listing by page_token', async () => {
    for (let n = 0; n < 250; n++)
      fake.put('Contacts', {
        id: contactId(1000 + n),
        Full_Name: `P ${n}`,
        Phone: `044 777 ${String(n).padStart(4, '0')}`,
      });
    const report = await engine().sync(mirror({ modules: ['Contacts'] }));
    expect(report.written).toBe(253);
    const pages = fake.requests.filter((request) => request.url.pathname === '/crm/v8/Contacts');
    expect(pages.map((request) => request.url.searchParams.get('page_token')?.replace(/^t\d+/, 't'))).toEqual(
      [undefined, 't.200'],
    );
  });

  it('an incremental sync asks for the records modified and deleted since the last one', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.put(
      'Contacts',
      {
        id: BEAT,
        Full_Name: 'Beat Keller',
        Phone: '044 555 00 11',
        Account_Name: { name: 'Helvetia Treuhand AG', id: HELVETIA },
      },
      later,
    );
    fake.remove('Contacts', CHLOE, later);
    fake.remove('Leads', LEAD, later);
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, skipped: 0 });
    // The last change seen (2026-11-02T08:00:00Z), less a minute for late commits.
    expect(
      fake.requests.map((request) => [request.url.pathname, request.headers['if-modified-since']]),
    ).toEqual([
      ['/crm/v8/Accounts', '2026-11-02T07:59:00+00:00'],
      ['/crm/v8/Accounts/deleted', '2026-11-02T07:59:00+00:00'],
      ['/crm/v8/Leads', '2026-11-02T07:59:00+00:00'],
      ['/crm/v8/Leads/deleted', '2026-11-02T07:59:00+00:00'],
      ['/crm/v8/Contacts', '2026-11-02T07:59:00+00:00'],
      ['/crm/v8/Contacts/deleted', '2026-11-02T07:59:00+00:00'],
    ]);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual([BEAT]);
    expect(await ids('+33142685300')).toEqual([]);
    expect(await ids('+4315123456')).toEqual([]);
  });

  it('after a restart, an incremental sync reads the accounts in full for the contacts changed since', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    fake.put(
      'Contacts',
      {
        id: BEAT,
        Full_Name: 'Beat Keller',
        Phone: '01 5123499',
        Account_Name: { name: 'Nordlicht KG', id: HELVETIA },
      },
      later,
    );
    fake.put('Accounts', { id: HELVETIA, Account_Name: 'Nordlicht KG', Billing_Country: 'Austria' });
    fake.requests.length = 0;
    // A new source (a restarted service) on the same store: the sync is incremental.
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ full: false });
    expect(
      fake.requests.find((request) => request.url.pathname === '/crm/v8/Accounts')?.headers[
        'if-modified-since'
      ],
    ).toBeUndefined();
    expect(await found('+4315123499')).toMatchObject({ id: BEAT, company: 'Nordlicht KG' });
  });

  it('a full sync removes the records deleted in Zoho', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.remove('Contacts', BEAT, later);
    expect(await sync.sync(entry, { full: true })).toMatchObject({ full: true, removed: 1 });
    expect(await ids('+41445556677')).toEqual([]);
  });

  it('a 401 renews the token once, and the sync completes', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.revoke();
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(5);
    expect(fake.tokens()).toBe(2);
    expect(fake.requests.at(-1)!.headers.authorization).toBe('Zoho-oauthtoken oauth-2');
  });

  it('a 429 with Retry-After is waited out, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { code: 'TOO_MANY_REQUESTS', status: 'error', message: 'too many', details: {} },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a server error half-way through a sync keeps the last good data and records the error', async () => {
    const sync = engine();
    const entry = mirror({ modules: ['Contacts'] });
    await sync.sync(entry);
    for (let n = 0; n < 250; n++)
      fake.put('Contacts', {
        id: contactId(1000 + n),
        Full_Name: `P ${n}`,
        Phone: `044 777 ${String(n).padStart(4, '0')}`,
      });
    fake.remove('Contacts', BEAT, later);
    // Accounts (for the contacts' companies) and the first page of contacts are read; the second fails.
    fake.failAfter(3, {
      status: 500,
      body: { code: 'INTERNAL_ERROR', status: 'error', message: 'Internal Server Error', details: {} },
    });
    const report = await sync.sync(entry, { full: true });
    expect(report.error).toMatch(/list Contacts page 2: HTTP 500/);
    expect(await ids('+41445556677')).toEqual([BEAT]);
    expect(await ids('+41447770000')).toEqual([]);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { Full_Name: 'No Id', Phone: '044 111 22 33' },
      { id: '98', Full_Name: 'Odd', Phone: 41 },
      42,
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 5, skipped: 3 });
    const reasons = warnings.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual([
      'contact 98: Phone is not text',
      'the contact has no id',
      'the contact is not an object',
    ]);
  });

  it('reads through an OAuth connection (oauth2Code) named after the source', async () => {
    const sealer = createSealer(Buffer.alloc(32, 9));
    const connections = createConnections({ store: store.credentials, sealer, logger: silent });
    const made = createZohoSource(
      {
        ...zohoSourceSchema.parse({
          type: 'zoho',
          dataCentre: 'eu',
          apiDomain: fake.url,
          modules: ['Leads'],
          auth: {
            type: 'oauth2Code',
            authorizationUrl: `${fake.url}/oauth/v2/auth`,
            tokenUrl: `${fake.url}/oauth/v2/token`,
            clientId: '1000.FAKE',
            clientSecret: 's',
            scopes: ['ZohoCRM.modules.leads.READ'],
          },
        }),
        name: 'zoho',
      } as ZohoSourceConfig,
      { logger: silent, baseDir: process.cwd(), connections },
    );
    cleanups.push(() => made.close?.());
    // A token the fake knows, as a consent would have left it.
    const token = await fetch(`${fake.url}/token`, { method: 'POST' }).then(
      (answer) => answer.json() as Promise<{ access_token: string }>,
    );
    await store.credentials.save(
      'zoho',
      sealTokens(sealer, 'zoho', {
        accessToken: token.access_token,
        refreshToken: 'r',
        obtainedAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      }),
    );
    const report = await engine().sync({ source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(1);
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Zoho-oauthtoken ${token.access_token}`);
  });

  it('the example of docs/connectors/zoho.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/zoho.md', 'type: zoho')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'zoho', name: 'zoho', dataCentre: 'eu' });
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'zoho',
      source: 'zoho',
    });
  });
});
