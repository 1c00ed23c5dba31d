import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { importSPKI, jwtVerify } from 'jose';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createGoogleSource,
  type GoogleSourceConfig,
  googleSourceSchema,
} from '../../src/sources/google/google-source.js';
import { createSource } from '../../src/sources/registry.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { docExample, tempDir } from '../support/helper.js';
import { listingContract, sourceContract } from './contract.js';
import { GOOGLE_TOKEN, type GoogleFake, startGoogleFake } from './vendors/google-fake.js';

// Google is not reachable from the tests: the fake in vendors/google-fake.ts follows the People
// API's published discovery document, and checks its answers against the extract of it in
// vendors/google.schema.json.

const silent = pino({ level: 'silent' });
const env = { GOOGLE_TOKEN };

const source = (fake: GoogleFake, settings: Record<string, unknown> = {}) =>
  createGoogleSource(
    {
      ...googleSourceSchema.parse({
        type: 'google',
        auth: { type: 'bearer', tokenEnv: 'GOOGLE_TOKEN' },
        baseUrl: fake.url,
        ...settings,
      }),
      name: 'google',
    } as GoogleSourceConfig,
    { logger: silent, baseDir: process.cwd() },
    { env },
  );

const person = (
  name: string,
  phones: { value: string; canonicalForm?: string; type?: string }[],
  extra: Record<string, unknown> = {},
  updated = '2026-11-02T08:00:00.000Z',
) => ({
  metadata: { sources: [{ type: 'CONTACT', id: 'c1', updateTime: updated }], objectType: 'PERSON' },
  names: [{ displayName: name, metadata: { primary: true } }],
  phoneNumbers: phones,
  ...extra,
});

sourceContract('google', async (contacts) => {
  const fake = await startGoogleFake();
  for (const entry of contacts) {
    fake.putContact(
      `people/${entry.id}`,
      person(
        entry.name!,
        entry.phones.map((phone) => ({ value: phone.value })),
        entry.company ? { organizations: [{ name: entry.company, current: true }] } : {},
      ),
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

listingContract('google', async () => {
  const fake = await startGoogleFake();
  for (let id = 1; id <= 450; id++)
    fake.putContact(
      `people/c${id}`,
      person(`Person ${id}`, [{ value: `044 555 ${String(id).padStart(4, '0')}` }]),
    );
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

describe('google source', () => {
  let fake: GoogleFake;
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
    (await store.contacts.findByKey('google', key, 10)).map((match) => match.id).sort();
  const found = async (key: string) => (await store.contacts.findByKey('google', key, 10))[0];
  const mirror = (settings: Record<string, unknown> = {}) => {
    const made = source(fake, settings);
    cleanups.push(() => made.close?.());
    return { source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  };
  const listings = () => fake.requests.filter((request) => request.url.pathname.startsWith('/v1/people'));

  beforeEach(async () => {
    fake = await startGoogleFake();
    dir = tempDir();
    store = openSqliteStore(dir.path);
    logs = [];
    clock = Date.parse('2026-11-26T10:00:00Z');
    fake.putContact(
      'people/c101',
      person(
        'Anna Müller',
        [
          { value: '030 1234567', type: 'work' },
          { value: '0171 2345678', type: 'mobile' },
        ],
        {
          organizations: [
            { name: 'Alte Firma AG', current: false },
            { name: 'Müller Maschinen GmbH', current: true, metadata: { primary: true } },
          ],
          addresses: [{ formattedValue: 'Berlin', countryCode: 'DE', metadata: { primary: true } }],
        },
      ),
    );
    // Google's canonical form wins over the number as typed (typed here without the country).
    fake.putContact(
      'people/c102',
      person('Beat Keller', [{ value: '079 123 45 67', canonicalForm: '+41791234567', type: 'mobile' }], {
        addresses: [{ country: 'Schweiz' }],
      }),
    );
    fake.putProfile(
      'people/1040',
      person('Chloé Martin', [{ value: '01 42 68 53 00', type: 'work' }], {
        addresses: [{ countryCode: 'FR', metadata: { primary: true } }],
        organizations: [{ name: 'Contoso SA', metadata: { primary: true } }],
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

  it('reads the contacts and the directory; company, country from the address, canonical forms', async () => {
    const report = await engine().sync(mirror({ directory: true }));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 3, skipped: 0 });
    expect(await found('+49301234567')).toMatchObject({
      id: 'c101',
      name: 'Anna Müller',
      company: 'Müller Maschinen GmbH',
    });
    expect(await ids('+491712345678')).toEqual(['c101']);
    expect(await ids('+41301234567')).toEqual([]);
    expect(await found('+41791234567')).toMatchObject({ id: 'c102', name: 'Beat Keller' });
    expect(await found('+33142685300')).toMatchObject({ id: 'directory-1040', company: 'Contoso SA' });
    const [contacts, directory] = listings();
    expect(Object.fromEntries(contacts!.url.searchParams)).toMatchObject({
      personFields: 'names,phoneNumbers,organizations,addresses,metadata',
      pageSize: '1000',
      requestSyncToken: 'true',
    });
    expect(directory!.url.searchParams.getAll('sources')).toEqual(['DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE']);
    expect(directory!.url.searchParams.get('readMask')).toContain('phoneNumbers');
    expect(fake.requests.every((request) => request.headers.authorization === `Bearer ${GOOGLE_TOKEN}`)).toBe(
      true,
    );
  });

  it('pages through by page token, with the parameters of the first page', async () => {
    for (let n = 0; n < 25; n++)
      fake.putContact(
        `people/c9${n}`,
        person(`P ${n}`, [{ value: `044 777 ${String(n).padStart(4, '0')}` }]),
      );
    const report = await engine().sync(mirror({ pageSize: 10 }));
    expect(report).toMatchObject({ written: 27 });
    const pages = listings();
    expect(pages).toHaveLength(3);
    expect(pages.slice(1).every((request) => request.url.searchParams.has('pageToken'))).toBe(true);
  });

  it('an incremental sync asks with the sync token: changes and deletions (metadata.deleted) only', async () => {
    const sync = engine();
    const entry = mirror({ directory: true });
    await sync.sync(entry);
    fake.requests.length = 0;
    clock += 120_000;
    fake.putContact(
      'people/c102',
      person('Beat Keller', [{ value: '044 555 00 11' }], {}, '2026-11-26T10:01:00Z'),
    );
    fake.removeContact('people/c101');
    fake.removeProfile('people/1040');
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, read: 3 });
    expect(listings().every((request) => request.url.searchParams.has('syncToken'))).toBe(true);
    expect(await ids('+41791234567')).toEqual([]);
    expect(await ids('+41445550011')).toEqual(['c102']);
    expect(await ids('+49301234567')).toEqual([]);
    expect(await ids('+33142685300')).toEqual([]);
  });

  it('an expired sync token (400 FAILED_PRECONDITION, EXPIRED_SYNC_TOKEN) makes the sync list everything', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    fake.removeContact('people/c101');
    fake.expire();
    fake.requests.length = 0;
    clock += 120_000;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 1 });
    expect(fake.requests[0]!.url.searchParams.has('syncToken')).toBe(true);
    expect(fake.requests[1]!.url.searchParams.has('syncToken')).toBe(false);
    expect(await ids('+49301234567')).toEqual([]);
    expect(logs.some((line) => line.msg === 'changes unavailable: listing all')).toBe(true);
    clock += 120_000;
    expect(await sync.sync(entry)).toMatchObject({ full: false, read: 0 });
  });

  it('another 400 is an error of the sync, not a reason to list everything', async () => {
    const sync = engine();
    const entry = mirror();
    await sync.sync(entry);
    clock += 120_000;
    fake.fail({ status: 400, body: { error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' } } });
    const report = await sync.sync(entry);
    expect(report).toMatchObject({ full: false });
    expect(report.error).toMatch(/changes of contacts page 1: HTTP 400 Bad Request/);
  });

  it('a new process on the same store asks for the changes since the sync token kept there', async () => {
    await engine().sync(mirror());
    const kept = (await store.contacts.syncState('google'))!.changeTokens!;
    clock += 120_000;
    fake.removeContact('people/c102');
    fake.requests.length = 0;
    // A restarted service: a new engine and a new source, nothing in memory; the store keeps the token.
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: false, removed: 1 });
    expect(listings().length).toBeGreaterThan(0);
    expect(listings().map((request) => request.url.searchParams.get('syncToken'))).toEqual(
      listings().map(() => kept['contacts']),
    );
    expect(await ids('+41791234567')).toEqual([]);
  });

  it('a token refused (401) is renewed once and the request sent again', async () => {
    const sync = engine();
    const entry = mirror({
      auth: { type: 'oauth2', tokenUrl: `${fake.url}/token`, clientId: 'callcard', clientSecret: 's3cret' },
    });
    await sync.sync(entry);
    fake.revoke();
    clock += 120_000;
    const report = await sync.sync(entry);
    expect(report.error).toBeUndefined();
    expect(fake.tokens()).toBe(2);
    expect(
      fake.requests.filter((request) => request.headers.authorization === 'Bearer oauth-1').length,
    ).toBeGreaterThan(1);
  });

  it('a service account with domain-wide delegation: a signed assertion (RFC 7523) for the user it acts as', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = {
      type: 'service_account',
      client_email: 'callcard@acme-callcard.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      token_uri: `${fake.url}/token`,
    };
    vi.stubEnv('GOOGLE_SA_KEY', JSON.stringify(key));
    const scopes = [
      'https://www.googleapis.com/auth/contacts.readonly',
      'https://www.googleapis.com/auth/directory.readonly',
    ];
    const made = createGoogleSource(
      {
        ...googleSourceSchema.parse({
          type: 'google',
          auth: {
            type: 'googleServiceAccount',
            keyEnv: 'GOOGLE_SA_KEY',
            subject: 'empfang@contoso.ch',
            scopes,
          },
          baseUrl: fake.url,
          directory: true,
        }),
        name: 'google',
      } as GoogleSourceConfig,
      { logger: silent, baseDir: process.cwd() },
    );
    cleanups.push(() => made.close?.());
    const report = await engine().sync({ source: made, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(3);
    expect(fake.tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(String(fake.tokenRequests[0]!.body));
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const verified = await jwtVerify(
      form.get('assertion')!,
      await importSPKI(String(publicKey.export({ type: 'spki', format: 'pem' })), 'RS256'),
      { issuer: key.client_email, audience: key.token_uri, subject: 'empfang@contoso.ch' },
    );
    expect(verified.protectedHeader.alg).toBe('RS256');
    expect(verified.payload['scope']).toBe(scopes.join(' '));
    expect(verified.payload.exp! - verified.payload.iat!).toBe(3600);
    expect(fake.requests.every((request) => request.headers.authorization === 'Bearer oauth-1')).toBe(true);
  });

  it('a service account key that is not one is refused when the source is made', () => {
    vi.stubEnv('GOOGLE_SA_KEY', '{"type":"service_account"}');
    const auth = { type: 'googleServiceAccount', keyEnv: 'GOOGLE_SA_KEY', scopes: ['x'] };
    expect(() =>
      createGoogleSource(
        {
          ...googleSourceSchema.parse({ type: 'google', auth, baseUrl: fake.url }),
          name: 'google',
        } as GoogleSourceConfig,
        { logger: silent, baseDir: process.cwd() },
      ),
    ).toThrow(/no client_email or private_key/);
  });

  it('a 429 is waited out as Retry-After asks, and the sync completes', async () => {
    fake.fail({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } },
    });
    const report = await engine().sync(mirror());
    expect(report.error).toBeUndefined();
    const [limited, retried] = fake.requests;
    expect(retried!.url.href).toBe(limited!.url.href);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('a server error half-way through a sync keeps the last good data and the sync token', async () => {
    const sync = engine();
    const entry = mirror({ pageSize: 10 });
    await sync.sync(entry);
    for (let n = 0; n < 15; n++)
      fake.putContact(
        `people/c9${n}`,
        person(`P ${n}`, [{ value: `044 777 ${String(n).padStart(4, '0')}` }]),
      );
    fake.removeContact('people/c102');
    clock += 120_000;
    fake.failAfter(2, {
      status: 503,
      body: { error: { code: 503, message: 'unavailable', status: 'UNAVAILABLE' } },
    });
    const report = await sync.sync(entry);
    expect(report.error).toMatch(/changes of contacts page 2: HTTP 503 Service Unavailable/);
    expect(await ids('+41791234567')).toEqual(['c102']);
    expect(await ids('+41447770000')).toEqual([]);
    const again = await sync.sync(entry);
    expect(again).toMatchObject({ full: false });
    expect(again.error).toBeUndefined();
    expect(await ids('+41791234567')).toEqual([]);
    expect(await ids('+41447770000')).toEqual(['c90']);
  });

  it('skips malformed people with a reason and reads the others', async () => {
    fake.extraContacts.push(
      { names: [{ displayName: 'No Name' }], phoneNumbers: [{ value: '044 111 22 33' }] },
      'x',
    );
    const report = await engine().sync(mirror());
    expect(report).toMatchObject({ written: 2, skipped: 2 });
    const reasons = logs.filter((line) => line.msg === 'contact skipped').map((line) => line.reason);
    expect(reasons.sort()).toEqual(['the person has no resourceName', 'the person is not an object']);
  });

  it('refuses settings that read nothing', () => {
    expect(() => source(fake, { contacts: false })).toThrow(/reads nothing/);
  });

  it('the example of docs/connectors/google.md is a valid configuration', async () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/google.md', 'name: google')));
    const [entry] = config.tenants[0]!.sources;
    expect(entry).toMatchObject({ type: 'google', name: 'google', auth: { type: 'oauth2Code' } });
    vi.stubEnv('GOOGLE_CLIENT_SECRET', 'test');
    // An oauth2Code connection needs the tenant's store: without it the source says so.
    await expect(createSource(entry as never, { logger: silent, baseDir: dir.path })).rejects.toThrow(
      /needs the tenant store/,
    );
  });
});
