/**
 * Where a cloud connector's sync goes on from after a restart, or on another instance: its place in
 * the changes (a delta link, a sync token, an updated-at cursor) is kept in the store's sync state,
 * committed with the contacts it led to, on both stores. Each case syncs, then opens a new store
 * handle on the same data (another process, another instance), a new source and a new engine, and
 * checks that the vendor's fake is asked for the changes only.
 *
 * The vendors are not reachable from the tests: the fakes in vendors/ follow their published
 * references (Microsoft Graph's delta queries, the People API, Pipedrive's API v2).
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import {
  createGoogleSource,
  type GoogleSourceConfig,
  googleSourceSchema,
} from '../../src/sources/google/google-source.js';
import {
  createMicrosoft365Source,
  type Microsoft365SourceConfig,
  microsoft365SourceSchema,
} from '../../src/sources/microsoft365/microsoft365-source.js';
import {
  createPipedriveSource,
  type PipedriveSourceConfig,
  pipedriveSourceSchema,
} from '../../src/sources/pipedrive/pipedrive-source.js';
import type { Source } from '../../src/sources/types.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { describeStores } from '../store/support.js';
import { GOOGLE_TOKEN, startGoogleFake } from './vendors/google-fake.js';
import { M365_TENANT, startMicrosoft365Fake } from './vendors/microsoft365-fake.js';
import { PIPEDRIVE_TOKEN, startPipedriveFake } from './vendors/pipedrive-fake.js';

const silent = pino({ level: 'silent' });
const deps = { logger: silent, baseDir: process.cwd() };

/** Syncs `source` into `store` as a service does, its clock at `at`. */
async function syncOnce(store: Store, source: Source, at: number) {
  const engine = createSyncEngine({
    store: store.contacts,
    region: 'CH',
    logger: silent,
    workers: 0,
    now: () => at,
  });
  try {
    return await engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
  } finally {
    await engine.stop();
    await source.close?.();
  }
}

const START = Date.parse('2026-11-26T10:00:00Z');

describeStores('the place in a source’s changes, kept in the store', (current) => {
  it('microsoft365: a new instance follows the Graph delta links the store keeps', async () => {
    const fake = await startMicrosoft365Fake();
    try {
      const make = () =>
        createMicrosoft365Source(
          {
            ...microsoft365SourceSchema.parse({
              type: 'microsoft365',
              tenantId: M365_TENANT,
              clientId: '6731de76-14a6-49ae-97bc-6eba6914391e',
              clientSecretEnv: 'M365_SECRET',
              mailboxes: ['empfang@contoso.ch'],
              graphUrl: `${fake.url}/v1.0`,
              loginUrl: fake.url,
            }),
            name: 'm365',
          } as Microsoft365SourceConfig,
          deps,
          { env: { M365_SECRET: 'secret' } },
        );
      fake.putContact('empfang@contoso.ch', 'c1', { displayName: 'Anna', businessPhones: ['044 555 11 11'] });
      fake.putUser('u1', { displayName: 'Beat', businessPhones: ['044 555 22 22'] });
      expect(await syncOnce(current().store, make(), START)).toMatchObject({ full: true, written: 2 });
      fake.putUser('u2', { displayName: 'Chloé', businessPhones: ['044 555 33 33'] });
      fake.requests.length = 0;

      const other = await current().another();
      const report = await syncOnce(other, make(), START + 120_000);
      expect(report).toMatchObject({ full: false, written: 1 });
      expect(report.error).toBeUndefined();
      expect(fake.requests.map((request) => request.url.searchParams.has('$deltatoken'))).toEqual([
        true,
        true,
      ]);
      expect(await other.contacts.findByKey('m365', '+41445553333', 5)).toHaveLength(1);
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('google: a new instance asks for the changes since the People API sync token the store keeps', async () => {
    const fake = await startGoogleFake();
    try {
      const make = () =>
        createGoogleSource(
          {
            ...googleSourceSchema.parse({
              type: 'google',
              auth: { type: 'bearer', tokenEnv: 'GOOGLE_TOKEN' },
              baseUrl: fake.url,
            }),
            name: 'google',
          } as GoogleSourceConfig,
          deps,
          { env: { GOOGLE_TOKEN } },
        );
      const person = (name: string, value: string) => ({
        metadata: { sources: [{ type: 'CONTACT', id: 'c1', updateTime: '2026-11-02T08:00:00.000Z' }] },
        names: [{ displayName: name, metadata: { primary: true } }],
        phoneNumbers: [{ value }],
      });
      fake.putContact('people/c1', person('Anna', '044 555 11 11'));
      expect(await syncOnce(current().store, make(), START)).toMatchObject({ full: true, written: 1 });
      const kept = (await current().store.contacts.syncState('google'))?.changeTokens?.['contacts'];
      expect(kept).toBeTruthy();
      fake.putContact('people/c2', person('Beat', '044 555 22 22'));
      fake.requests.length = 0;

      const other = await current().another();
      const report = await syncOnce(other, make(), START + 120_000);
      expect(report).toMatchObject({ full: false, written: 1 });
      expect(fake.requests.map((request) => request.url.searchParams.get('syncToken'))).toEqual([kept]);
      expect(await other.contacts.findByKey('google', '+41445552222', 5)).toHaveLength(1);
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('pipedrive: a new instance asks for the changes since the cursor the store keeps (updated_since)', async () => {
    const fake = await startPipedriveFake();
    try {
      const make = () =>
        createPipedriveSource(
          {
            ...pipedriveSourceSchema.parse({
              type: 'pipedrive',
              tokenEnv: 'PIPEDRIVE_API_TOKEN',
              baseUrl: fake.url,
            }),
            name: 'pipedrive',
          } as PipedriveSourceConfig,
          deps,
          { env: { PIPEDRIVE_API_TOKEN: PIPEDRIVE_TOKEN } },
        );
      fake.persons.push({
        id: 1,
        name: 'Anna',
        org_id: null,
        phones: [{ value: '044 555 11 11', label: 'work', primary: true }],
        update_time: '2026-11-20T08:00:00Z',
      });
      expect(await syncOnce(current().store, make(), START)).toMatchObject({ full: true, written: 1 });
      fake.requests.length = 0;

      const other = await current().another();
      const report = await syncOnce(other, make(), START + 120_000);
      expect(report).toMatchObject({ full: false });
      const asked = fake.requests.filter((request) => request.url.pathname.endsWith('/persons'));
      expect(asked.length).toBeGreaterThan(0);
      // The latest change seen, less the overlap for late commits.
      for (const request of asked)
        expect(request.url.searchParams.get('updated_since')).toBe('2026-11-20T07:59:00Z');
    } finally {
      await fake.close();
    }
  });

  it('a commit whose sync state cannot be made keeps neither the contacts nor the state', async () => {
    const { contacts } = current().store;
    await contacts.saveSyncState('crm', { cursor: 1 });
    const session = await contacts.beginImport('crm', { replace: false });
    await session.write([{ id: 'a', phones: [{ key: '+41445551111', raw: '044 555 11 11' }] }]);
    await expect(
      session.commit(() => {
        throw new Error('no state');
      }),
    ).rejects.toThrow('no state');
    expect(await contacts.count('crm')).toBe(0);
    expect(await contacts.syncState('crm')).toEqual({ cursor: 1 });

    const next = await contacts.beginImport('crm', { replace: false });
    await next.write([{ id: 'a', phones: [{ key: '+41445551111', raw: '044 555 11 11' }] }]);
    await next.commit(({ contacts: written }) => ({ cursor: 2, written, changeTokens: { crm: 'token-2' } }));
    const other = await current().another();
    expect(await other.contacts.count('crm')).toBe(1);
    expect(await other.contacts.syncState('crm')).toEqual({
      cursor: 2,
      written: 1,
      changeTokens: { crm: 'token-2' },
    });
  });
});
