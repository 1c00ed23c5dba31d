import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createOdooSource,
  type OdooSourceConfig,
  odooSourceSchema,
} from '../../src/sources/odoo/odoo-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { ODOO_DB, ODOO_KEY, ODOO_LOGIN, type OdooFake, startOdooFake } from './vendors/odoo-fake.js';

// Odoo is not reachable from the tests: the fake in vendors/odoo-fake.ts follows Odoo's published
// External JSON-2 API and External RPC API references, and checks requests and answers against the
// extract of them in vendors/odoo.schema.json.

const silent = pino({ level: 'silent' });
const env = { ODOO_API_KEY: ODOO_KEY };

const source = (fake: OdooFake, settings: Record<string, unknown> = {}) =>
  createOdooSource(
    {
      ...odooSourceSchema.parse({ type: 'odoo', url: fake.url, apiKeyEnv: 'ODOO_API_KEY', ...settings }),
      name: 'odoo',
    } as OdooSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const SWITZERLAND = [43, 'Switzerland'];

sourceContract('odoo', async (contacts) => {
  const fake = await startOdooFake();
  const company = fake.partner({ name: 'White Cross Co', is_company: true, parent_id: false });
  let id = 1;
  for (const entry of contacts) {
    fake.partner({
      // The contract's ids are a1...: Odoo's are integers; the suite compares ids, so they are kept as given below.
      id: id++,
      name: entry.name,
      is_company: false,
      parent_id: entry.company ? [company.id, company.name as string] : false,
      country_id: SWITZERLAND,
      phone: entry.phones[0]!.value,
      mobile: entry.phones[1]?.value ?? false,
    });
  }
  let down = false;
  const made = source(fake);
  // The contract asks for ids a1..a4: Odoo's partner ids 1..4, given back under the contract's names.
  const renamed = {
    ...made,
    list: made.list
      ? async function* (options: Parameters<NonNullable<typeof made.list>>[0]) {
          for await (const batch of made.list!(options))
            yield batch.map((contact) =>
              contact.id && /^\d$/.test(contact.id) ? { ...contact, id: `a${contact.id}` } : contact,
            );
        }
      : undefined,
  };
  return {
    source: renamed as typeof made,
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

listingContract('odoo', async () => {
  const fake = await startOdooFake();
  for (let n = 1; n <= 450; n++)
    fake.partner({ name: `Person ${n}`, is_company: false, phone: `044 555 ${String(n).padStart(4, '0')}` });
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

describe('odoo source', () => {
  let fake: OdooFake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: number;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const engine = () =>
    createSyncEngine({ store: store.contacts, region: 'CH', logger: silent, workers: 0, now: () => clock });
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const found = async (key: string) => (await store.contacts.findByKey('odoo', key, 10))[0];
  const ids = async (key: string) =>
    (await store.contacts.findByKey('odoo', key, 10)).map((m) => m.id).sort();
  const bodies = () => fake.requests.map((request) => request.body as Record<string, unknown>);

  beforeEach(async () => {
    fake = await startOdooFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.partner({
      id: 10,
      name: 'Müller Maschinen GmbH',
      is_company: true,
      country_id: [57, 'Germany'],
      phone: '030 9876543',
      write_date: '2026-11-20 08:00:00',
    });
    fake.partner({
      id: 11,
      name: 'Anna Müller',
      is_company: false,
      parent_id: [10, 'Müller Maschinen GmbH'],
      country_id: [57, 'Germany'],
      phone: '030 1234567',
      mobile: '0171 2345678',
      write_date: '2026-11-20 08:00:00',
    });
    fake.partner({
      id: 12,
      name: 'Beat Keller',
      is_company: false,
      country_id: SWITZERLAND,
      phone: '044 555 66 77',
      write_date: '2026-11-20 08:00:00',
    });
    fake.partner({ id: 13, name: 'No Number', is_company: false, write_date: '2026-11-20 08:00:00' });
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fake.close();
    await store.close();
    dir.remove();
    expect(fake.violations).toEqual([]);
  });

  it('lists companies and persons with a number by the JSON-2 API; company from the parent, national numbers in the address country', async () => {
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 3, skipped: 0 });
    expect(await found('+49301234567')).toMatchObject({
      id: '11',
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
      contactUri: `${fake.url}/web#id=11&model=res.partner&view_type=form`,
      companyUri: `${fake.url}/web#id=10&model=res.partner&view_type=form`,
    });
    expect(await ids('+491712345678')).toEqual(['11']);
    expect(await found('+49309876543')).toMatchObject({ id: '10', company: 'Müller Maschinen GmbH' });
    expect(await ids('+41445556677')).toEqual(['12']);
    const [first] = fake.requests;
    expect(first!.url.pathname).toBe('/json/2/res.partner/search_read');
    expect(first!.headers.authorization).toMatch(new RegExp(`^bearer ${ODOO_KEY}$`, 'i'));
    expect(bodies()[0]).toMatchObject({
      domain: ['|', ['phone', '!=', false], ['mobile', '!=', false]],
      order: 'id',
    });
  });

  it('an incremental sync asks for the partners written since (write_date), archived ones too, and removes those archived or without a number', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    clock += 120_000;
    fake.partner({
      id: 12,
      name: 'Beat Keller',
      is_company: false,
      country_id: SWITZERLAND,
      phone: '044 555 00 11',
      write_date: '2026-11-26 10:01:00',
    });
    fake.partner({
      id: 11,
      name: 'Anna Müller',
      is_company: false,
      active: false,
      phone: '030 1234567',
      write_date: '2026-11-26 10:01:00',
    });
    fake.requests.length = 0;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, removed: 1 });
    // The latest write_date seen, less a minute for late commits.
    expect(bodies()[0]).toMatchObject({
      domain: [['write_date', '>=', '2026-11-20 07:59:00']],
      context: { active_test: false },
    });
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['12']);
    expect(await ids('+49301234567')).toEqual([]);
  });

  it('speaks JSON-RPC to older versions: login, then execute_kw with the database, the user and the key', async () => {
    const report = await engine().sync(mirror({ api: 'jsonrpc', database: ODOO_DB, login: ODOO_LOGIN }));
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(3);
    expect(fake.requests.every((request) => request.url.pathname === '/jsonrpc')).toBe(true);
    expect(fake.requests.every((request) => request.headers.authorization === undefined)).toBe(true);
    const calls = bodies().map((body) => (body['params'] as { service: string; method: string }).method);
    expect(calls).toEqual(['login', 'execute_kw']);
    expect(await ids('+49301234567')).toEqual(['11']);
  });

  it('a refused login or call fails the sync with Odoo error name only, and the last good contacts stay', async () => {
    await engine().sync(mirror());
    const login = await engine().sync(
      mirror({ api: 'jsonrpc', database: ODOO_DB, login: ODOO_LOGIN, apiKeyEnv: undefined, apiKey: 'wrong' }),
    );
    expect(login.error).toMatch(/log in: Odoo refused the login and API key/);
    const field = await engine().sync(
      mirror({ api: 'jsonrpc', database: ODOO_DB, login: ODOO_LOGIN, phoneFields: ['fax'] }),
    );
    expect(field.error).toMatch(/Odoo refused it \(ValueError\)/);
    expect(field.error).not.toMatch(/Traceback|Invalid field/);
    expect(await ids('+41445556677')).toEqual(['12']);
  });

  it('a JSON-2 answer 401 fails the sync without quoting Odoo', async () => {
    const made = createOdooSource(
      {
        ...odooSourceSchema.parse({ type: 'odoo', url: fake.url, apiKey: 'not-the-key' }),
        name: 'odoo',
      } as OdooSourceConfig,
      { logger: silent, baseDir: process.cwd() },
    );
    cleanups.push(() => made.close?.());
    const report = await engine().sync({ source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
    expect(report.error).toMatch(/HTTP 401/);
    expect(report.error).not.toMatch(/Traceback|Invalid apikey/);
  });

  it('refuses JSON-RPC without database and login, and unknown settings', () => {
    expect(() => source(fake, { api: 'jsonrpc' })).toThrow(/database: JSON-RPC needs the database; login/);
    const config = YAML.parse(docExample('docs/connectors/odoo.md', 'type: odoo'));
    config.sources[0].pageSise = 5;
    const parsed = configSchema.safeParse(config);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('pageSise');
  });

  it('the example of docs/connectors/odoo.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/odoo.md', 'type: odoo')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'odoo', name: 'odoo', url: 'https://acme.odoo.com', api: 'json2' });
    vi.stubEnv('ODOO_API_KEY', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
