import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createMicrosoft365Source,
  type Microsoft365SourceConfig,
  microsoft365SourceSchema,
} from '../../src/sources/microsoft365/microsoft365-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { M365_TENANT, type Microsoft365Fake, startMicrosoft365Fake } from './vendors/microsoft365-fake.js';

// Microsoft Graph is not reachable from the tests: the fake in vendors/microsoft365-fake.ts follows
// Graph's published metadata and delta query documentation, and checks its answers against the
// extract of the metadata in vendors/microsoft365.schema.json.

const silent = pino({ level: 'silent' });
const SECRET = 'Qx8~test-client-secret';
const env = { M365_SECRET: SECRET };
const MAILBOX = 'empfang@contoso.ch';

const source = (fake: Microsoft365Fake, settings: Record<string, unknown> = {}) =>
  createMicrosoft365Source(
    {
      ...microsoft365SourceSchema.parse({
        type: 'microsoft365',
        tenantId: M365_TENANT,
        clientId: '6731de76-14a6-49ae-97bc-6eba6914391e',
        clientSecretEnv: 'M365_SECRET',
        mailboxes: [MAILBOX],
        graphUrl: `${fake.url}/v1.0`,
        loginUrl: fake.url,
        ...settings,
      }),
      name: 'm365',
    } as Microsoft365SourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const outlookContact = (fields: Record<string, unknown>, modified = '2026-11-02T08:00:00Z') => ({
  lastModifiedDateTime: modified,
  businessPhones: [],
  homePhones: [],
  ...fields,
});

sourceContract('microsoft365', async (contacts) => {
  const fake = await startMicrosoft365Fake();
  for (const entry of contacts) {
    fake.putContact(
      MAILBOX,
      entry.id!,
      outlookContact({
        displayName: entry.name,
        businessPhones: [entry.phones[0]!.value],
        ...(entry.phones[1] && { mobilePhone: entry.phones[1].value }),
        ...(entry.company && { companyName: entry.company }),
      }),
    );
  }
  let down = false;
  return {
    source: source(fake, { users: false }),
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

listingContract('microsoft365', async () => {
  const fake = await startMicrosoft365Fake();
  for (let id = 1; id <= 450; id++) {
    fake.putUser(`u-${id}`, {
      displayName: `Person ${id}`,
      businessPhones: [`044 555 ${String(id).padStart(4, '0')}`],
    });
  }
  let down = false;
  return {
    source: source(fake, { mailboxes: [] }),
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

describe('microsoft365 source', () => {
  let fake: Microsoft365Fake;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let logs: { reason?: string; msg?: string }[];
  let clock: number;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  const engine = () =>
    createSyncEngine({
      store: store.contacts,
      region: 'CH',
      logger: pino(
        { level: 'info' },
        new Writable({
          write(chunk, _encoding, done) {
            logs.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      ),
      workers: 0,
      now: () => clock,
    });
  const ids = async (key: string) =>
    (await store.contacts.findByKey('m365', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('m365', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const deltaRequests = () => fake.requests.filter((request) => request.url.pathname.endsWith('/delta'));

  beforeEach(async () => {
    fake = await startMicrosoft365Fake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    logs = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.putContact(
      MAILBOX,
      'AAMkAGI2-anna',
      outlookContact({
        displayName: 'Anna Müller',
        companyName: 'Müller Maschinen GmbH',
        businessPhones: ['030 1234567'],
        mobilePhone: '0171 2345678',
        businessAddress: { city: 'Berlin', countryOrRegion: 'Germany' },
      }),
    );
    fake.putContact(
      MAILBOX,
      'AAMkAGI2-beat',
      outlookContact({
        givenName: 'Beat',
        surname: 'Keller',
        businessPhones: ['044 555 66 77'],
        homeAddress: { countryOrRegion: 'Schweiz' },
      }),
    );
    fake.putUser('5f1c2b9e-0001', {
      displayName: 'Chloé Martin',
      businessPhones: ['+41 21 552 20 00'],
      mobilePhone: '079 123 45 67',
      usageLocation: 'CH',
      accountEnabled: true,
    });
    fake.putUser('5f1c2b9e-0002', {
      displayName: 'Daniel Gruber',
      businessPhones: ['01 5123456'],
      country: 'Austria',
      companyName: 'Contoso Wien GmbH',
      accountEnabled: true,
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

  it("reads a mailbox's contacts and the users with an app-only token; countries from the addresses", async () => {
    const report = await engine().sync(mirror({ organisation: 'Contoso AG' }));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 4, skipped: 0 });
    expect(await ids('+49301234567')).toEqual(['AAMkAGI2-anna']);
    expect(await ids('+491712345678')).toEqual(['AAMkAGI2-anna']);
    expect(await found('+49301234567')).toMatchObject({
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
    });
    expect(await found('+41445556677')).toMatchObject({ id: 'AAMkAGI2-beat', name: 'Beat Keller' });
    expect(await found('+41215522000')).toMatchObject({ name: 'Chloé Martin', company: 'Contoso AG' });
    expect(await ids('+41791234567')).toEqual(['5f1c2b9e-0001']);
    expect(await found('+4315123456')).toMatchObject({ name: 'Daniel Gruber', company: 'Contoso Wien GmbH' });
    // Client credentials at the tenant's v2.0 endpoint, for Graph's .default scope, secret in the form.
    expect(fake.tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(String(fake.tokenRequests[0]!.body));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      scope: `${fake.url}/.default`,
      client_id: '6731de76-14a6-49ae-97bc-6eba6914391e',
      client_secret: SECRET,
    });
    expect(fake.requests.every((request) => request.headers.authorization === 'Bearer oauth-1')).toBe(true);
    const [contacts, users] = deltaRequests();
    expect(contacts!.url.pathname).toBe(`/v1.0/users/${encodeURIComponent(MAILBOX)}/contacts/delta`);
    expect(contacts!.url.searchParams.get('$select')).toContain('businessPhones');
    expect(contacts!.headers['prefer']).toBe('odata.maxpagesize=200');
    expect(users!.url.pathname).toBe('/v1.0/users/delta');
    expect(users!.url.searchParams.get('$select')?.split(',')).toEqual(
      expect.arrayContaining(['businessPhones', 'mobilePhone', 'usageLocation', 'accountEnabled']),
    );
  });

  it('pages through a delta listing by its next links', async () => {
    for (let n = 0; n < 25; n++)
      fake.putContact(
        MAILBOX,
        `c-${n}`,
        outlookContact({ displayName: `P ${n}`, businessPhones: [`044 777 ${String(n).padStart(4, '0')}`] }),
      );
    const report = await engine().sync(mirror({ users: false, pageSize: 10 }));
    expect(report).toMatchObject({ written: 27 });
    const pages = deltaRequests();
    expect(pages).toHaveLength(3);
    expect(pages.slice(1).every((request) => request.url.searchParams.has('$skiptoken'))).toBe(true);
  });

  it('an incremental sync follows the delta links: changes and deletions, nothing else', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.putContact(
      MAILBOX,
      'AAMkAGI2-beat',
      outlookContact(
        { displayName: 'Beat Keller', businessPhones: ['044 555 00 11'] },
        '2026-11-26T10:01:00Z',
      ),
    );
    fake.removeContact(MAILBOX, 'AAMkAGI2-anna');
    fake.removeUser('5f1c2b9e-0002');
    fake.putUser('5f1c2b9e-0001', {
      displayName: 'Chloé Martin',
      businessPhones: ['+41 21 552 20 00'],
      usageLocation: 'CH',
      accountEnabled: false,
    });
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, read: 4 });
    expect(deltaRequests().every((request) => request.url.searchParams.has('$deltatoken'))).toBe(true);
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['AAMkAGI2-beat']);
    expect(await ids('+49301234567')).toEqual([]);
    expect(await ids('+4315123456')).toEqual([]);
    // A disabled account is no longer a contact.
    expect(await ids('+41215522000')).toEqual([]);
  });

  it('users alone sync incrementally too: the delta link is the place, not a modification time', async () => {
    const sync = engine();
    const entry = mirror({ mailboxes: [] });
    expect(await sync.sync(entry)).toMatchObject({ full: true });
    clock += 120_000;
    fake.putUser('5f1c2b9e-0003', { displayName: 'Eva Huber', businessPhones: ['044 999 88 77'] });
    expect(await sync.sync(entry)).toMatchObject({ full: false, read: 1 });
    expect(await ids('+41449998877')).toEqual(['5f1c2b9e-0003']);
  });

  it('a delta link Graph no longer knows (410 syncStateNotFound) makes the sync list everything', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.removeContact(MAILBOX, 'AAMkAGI2-anna');
    fake.expire();
    fake.requests.length = 0;
    clock += 120_000;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 3 });
    expect(fake.requests[0]!.url.searchParams.has('$deltatoken')).toBe(true);
    expect(fake.requests.slice(1).some((request) => request.url.searchParams.has('$deltatoken'))).toBe(false);
    expect(await ids('+49301234567')).toEqual([]);
    expect(logs.some((line) => line.msg === 'changes unavailable: listing all')).toBe(true);
    // The new round's links work again.
    clock += 120_000;
    expect(await sync.sync(entry)).toMatchObject({ full: false, read: 0 });
  });

  it('a new process on the same store follows the delta links kept there: the changes only', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    fake.removeUser('5f1c2b9e-0002');
    fake.requests.length = 0;
    // A restarted service: a new engine and a new source, nothing in memory; the store keeps the links.
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, removed: 1 });
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.every((request) => request.url.searchParams.has('$deltatoken'))).toBe(true);
    expect(await ids('+4315123456')).toEqual([]);
    expect(logs.some((line) => line.msg === 'changes unavailable: listing all')).toBe(false);
  });

  it('a delta link kept for another Graph address is not followed: the sync lists everything', async () => {
    await engine().sync(mirror());
    clock += 120_000;
    const kept = (await store.contacts.syncState('m365'))!;
    const moved = Object.fromEntries(
      Object.entries(kept.changeTokens!).map(([key, link]) => [
        key,
        link.replace('http://127.0.0.1', 'http://graph.invalid'),
      ]),
    );
    await store.contacts.saveSyncState('m365', { ...kept, changeTokens: moved });
    fake.requests.length = 0;
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ full: true });
    expect(fake.requests.some((request) => request.url.searchParams.has('$deltatoken'))).toBe(false);
  });

  it('a token refused (401) is renewed once and the request sent again', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.revoke();
    clock += 120_000;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(fake.tokenRequests).toHaveLength(2);
    const refused = fake.requests.filter((request) => request.headers.authorization === 'Bearer oauth-1');
    expect(refused.length).toBeGreaterThan(0);
  });

  it('a 429 is waited out as Retry-After asks, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'TooManyRequests', message: 'Too many requests' } },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a 503 with Retry-After is waited out too', async () => {
    fake.fail({
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'serviceNotAvailable', message: 'Service unavailable' } },
    });
    expect((await engine().sync(mirror())).error).toBeUndefined();
    expect(fake.requests).toHaveLength(3);
  });

  it('a server error half-way through a sync keeps the last good data and the delta links', async () => {
    const sync = engine();
    const entry = mirror({ pageSize: 10 });
    await sync.sync(entry);
    for (let n = 0; n < 15; n++)
      fake.putContact(
        MAILBOX,
        `c-${n}`,
        outlookContact({ displayName: `P ${n}`, businessPhones: [`044 777 ${String(n).padStart(4, '0')}`] }),
      );
    fake.removeContact(MAILBOX, 'AAMkAGI2-beat');
    clock += 120_000;
    // The mailbox's first page of changes is read, its second fails.
    fake.failAfter(2, { status: 502, body: { error: { code: 'BadGateway', message: 'Bad gateway' } } });
    const report = await sync.sync(entry);
    expect(report.error).toMatch(/changes of contacts:empfang@contoso.ch page 2: HTTP 502 Bad Gateway/);
    expect(await ids('+41445556677')).toEqual(['AAMkAGI2-beat']);
    expect(await ids('+41447770000')).toEqual([]);
    expect((await store.contacts.syncState('m365'))?.error).toMatch(/HTTP 502/);
    // The next sync reads the same changes again, from the links kept.
    fake.requests.length = 0;
    const again = await sync.sync(entry);
    expect(again).toMatchObject({ full: false });
    expect(again.error).toBeUndefined();
    expect(await ids('+41445556677')).toEqual([]);
    expect(await ids('+41447770000')).toEqual(['c-0']);
  });

  it('skips malformed records with a reason and reads the others', async () => {
    fake.extraContacts.push({ displayName: 'No Id', businessPhones: ['044 111 22 33'] }, 42);
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 4, skipped: 2 });
    const reasons = logs.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual(['the record has no id', 'the record is not an object']);
  });

  it('a mailbox Graph does not know fails the sync with its status', async () => {
    const report = await engine().sync(mirror({ mailboxes: ['nobody@contoso.ch'] }));
    expect(report.error).toMatch(/list contacts:nobody@contoso.ch page 1: HTTP 404/);
  });

  it('refuses settings that read nothing or give two kinds of credentials', () => {
    expect(() => source(fake, { mailboxes: [], users: false })).toThrow(/reads nothing/);
    expect(() => source(fake, { auth: { type: 'bearer', token: 'x' } })).toThrow(/either tenantId or auth/);
    expect(() => source(fake, { clientSecretEnv: undefined })).toThrow(/needs clientSecret/);
  });

  it('the example of docs/connectors/microsoft365.md is a valid configuration', async () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/microsoft365.md', 'type: microsoft365')),
    );
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'microsoft365', name: 'microsoft365' });
    vi.stubEnv('M365_CLIENT_SECRET', 'test');
    const made = await createSource(entry as never, { logger: silent, baseDir: dir.path });
    cleanups.push(() => made.close?.());
    expect(typeof made.list).toBe('function');
  });
});
