/**
 * The cloud connectors' manners with their vendors' request limits: the limit headers read (named
 * as each vendor's published reference names them: Pipedrive's rate limiting page, HubSpot's
 * rate limit headers, Salesforce's `Sforce-Limit-Info`, Zoho's API limits, Dataverse's service
 * protection limits, bexio's RateLimit headers), a sync paced to its share of each window, a day's
 * budget spent down to the reserve pausing the syncs while lookups still go, and what is left
 * exposed as a metric. The vendors are not reachable from the tests: the fakes in vendors/ answer
 * with those headers as the references describe them. Waits are recorded, never slept.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { numberForms } from '../../src/lookup/forms.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { paceOf, readLimits } from '../../src/net/vendor-limits.js';
import {
  createHubspotSource,
  type HubspotSourceConfig,
  hubspotSourceSchema,
} from '../../src/sources/hubspot/hubspot-source.js';
import {
  createPipedriveSource,
  type PipedriveSourceConfig,
  pipedriveSourceSchema,
} from '../../src/sources/pipedrive/pipedrive-source.js';
import {
  createSalesforceSource,
  type SalesforceSourceConfig,
  salesforceSourceSchema,
} from '../../src/sources/salesforce/salesforce-source.js';
import type { Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { tempDir } from '../support/helper.js';
import { HUBSPOT_TOKEN, startHubspotFake } from './vendors/hubspot-fake.js';
import { PIPEDRIVE_TOKEN, startPipedriveFake } from './vendors/pipedrive-fake.js';
import { sfId, sfTime, startSalesforceFake } from './vendors/salesforce-fake.js';

const silent = pino({ level: 'silent' });
const deps = { logger: silent, baseDir: process.cwd() };
const NOW = Date.parse('2026-11-26T10:00:00Z');
const headers = (entries: Record<string, string>) => new Headers(entries);

describe('vendor limit headers', () => {
  it('Pipedrive: the 2-second window and the requests left today', () => {
    expect(
      readLimits(
        'pipedrive',
        headers({
          'x-ratelimit-limit': '40',
          'x-ratelimit-remaining': '39',
          'x-ratelimit-reset': '2',
          'x-daily-requests-left': '9999',
        }),
        NOW,
      ),
    ).toEqual([
      { window: 'short', remaining: 39, limit: 40, resetAt: NOW + 2000 },
      { window: 'daily', remaining: 9999, resetAt: Date.parse('2026-11-27T00:00:00Z') },
    ]);
  });

  it('HubSpot: the burst interval and the day', () => {
    expect(
      readLimits(
        'hubspot',
        headers({
          'X-HubSpot-RateLimit-Daily': '250000',
          'X-HubSpot-RateLimit-Daily-Remaining': '249000',
          'X-HubSpot-RateLimit-Max': '100',
          'X-HubSpot-RateLimit-Remaining': '97',
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
        }),
        NOW,
      ),
    ).toEqual([
      { window: 'short', remaining: 97, limit: 100, resetAt: NOW + 10_000 },
      { window: 'daily', remaining: 249_000, limit: 250_000 },
    ]);
  });

  it('Salesforce: api-usage of Sforce-Limit-Info (used/limit)', () => {
    expect(readLimits('salesforce', headers({ 'Sforce-Limit-Info': 'api-usage=18/5000' }), NOW)).toEqual([
      { window: 'daily', remaining: 4982, limit: 5000 },
    ]);
  });

  it('Zoho, Dataverse and bexio', () => {
    expect(
      readLimits(
        'zoho',
        headers({
          'X-RATELIMIT-LIMIT': '50000',
          'X-RATELIMIT-REMAINING': '49000',
          'X-RATELIMIT-RESET': '60',
        }),
        NOW,
      ),
    ).toEqual([{ window: 'daily', remaining: 49_000, limit: 50_000, resetAt: NOW + 60_000 }]);
    expect(
      readLimits('dynamics365', headers({ 'x-ms-ratelimit-burst-remaining-xrm-requests': '5999' }), NOW),
    ).toEqual([{ window: 'short', remaining: 5999 }]);
    expect(
      readLimits(
        'bexio',
        headers({ 'RateLimit-Limit': '1000', 'RateLimit-Remaining': '998', 'RateLimit-Reset': '42' }),
        NOW,
      ),
    ).toEqual([{ window: 'short', remaining: 998, limit: 1000, resetAt: NOW + 42_000 }]);
  });

  it('answers without the headers, or with values that are not counts, tell nothing', () => {
    expect(readLimits('pipedrive', headers({}), NOW)).toEqual([]);
    expect(readLimits('hubspot', headers({ 'X-HubSpot-RateLimit-Remaining': '-3' }), NOW)).toEqual([]);
    expect(readLimits('salesforce', headers({ 'Sforce-Limit-Info': 'api-usage=lots' }), NOW)).toEqual([]);
  });
});

describe('the pace of a sync', () => {
  const settings = { share: 0.5, pauseMs: 900_000 };

  it('goes while a window has more than the share the sync leaves, then waits for its reset', () => {
    const reading = { window: 'short' as const, limit: 10, resetAt: NOW + 2000, readAt: NOW };
    expect(paceOf([{ ...reading, remaining: 6 }], settings, NOW)).toEqual({ go: true });
    expect(paceOf([{ ...reading, remaining: 5 }], settings, NOW + 500)).toEqual({
      go: false,
      waitMs: 1500,
      window: 'short',
    });
    // The reset has passed: the next answer will tell the new window.
    expect(paceOf([{ ...reading, remaining: 5 }], settings, NOW + 2000)).toEqual({ go: true });
  });

  it('a day below the reserve waits for its reset, or pauseMs when the vendor does not tell it', () => {
    const day = { window: 'daily' as const, remaining: 900, readAt: NOW };
    const reserve = { share: 1, reserve: 1000, pauseMs: 900_000 };
    expect(paceOf([day], reserve, NOW)).toEqual({ go: false, waitMs: 900_000, window: 'daily' });
    expect(paceOf([{ ...day, resetAt: NOW + 3_600_000 }], reserve, NOW)).toEqual({
      go: false,
      waitMs: 3_600_000,
      window: 'daily',
    });
    expect(paceOf([{ ...day, remaining: 1001 }], reserve, NOW)).toEqual({ go: true });
  });
});

describe('syncs paced by the vendor limits', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const storeFor = () => {
    const dir = tempDir();
    const store = openSqliteStore(dir.path);
    cleanups.push(() => dir.remove());
    cleanups.push(() => store.close());
    return store;
  };
  const sync = async (source: Source) => {
    const engine = createSyncEngine({ store: storeFor().contacts, region: 'CH', logger: silent, workers: 0 });
    cleanups.push(() => engine.stop());
    cleanups.push(() => source.close?.());
    return engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
  };

  it('Pipedrive: a full sync spends at most its share of each 2-second window, and waits for the reset', async () => {
    const fake = await startPipedriveFake();
    cleanups.push(() => fake.close());
    for (let id = 1; id <= 12; id++) {
      fake.persons.push({
        id,
        name: `Person ${id}`,
        org_id: null,
        phones: [{ value: `044 555 ${String(id).padStart(4, '0')}`, label: 'work', primary: true }],
        update_time: '2026-11-20T08:00:00Z',
      });
    }
    // The fake's window: 10 requests, counted down by each answer; a wait of the sync ends it.
    const events: string[] = [];
    let remaining = 10;
    fake.withLimitHeaders(() => {
      remaining--;
      events.push('request');
      return {
        'x-ratelimit-limit': '10',
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': '2',
      };
    });
    const waits: number[] = [];
    const source = createPipedriveSource(
      {
        ...pipedriveSourceSchema.parse({
          type: 'pipedrive',
          tokenEnv: 'PIPEDRIVE_API_TOKEN',
          baseUrl: fake.url,
          pageSize: 1,
          budget: { share: 0.5 },
        }),
        name: 'pipedrive',
      } as PipedriveSourceConfig,
      deps,
      {
        env: { PIPEDRIVE_API_TOKEN: PIPEDRIVE_TOKEN },
        timing: {
          now: () => NOW,
          pause: async (ms) => {
            waits.push(ms);
            events.push('wait');
            remaining = 10;
          },
        },
      },
    );
    const report = await sync(source);
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(12);
    // 12 persons a page each, their last empty page... and the organizations: never more than 5 in a row.
    const runs = events
      .join(' ')
      .split('wait')
      .map((run) => run.trim().split(' ').filter(Boolean).length);
    expect(Math.max(...runs)).toBe(5);
    expect(waits.length).toBe(runs.length - 1);
    expect(waits.every((ms) => ms === 2000)).toBe(true);
    expect(source.budget?.()).toContainEqual(expect.objectContaining({ window: 'short', limit: 10 }));
    expect(fake.violations).toEqual([]);
  });

  it('HubSpot: a day spent down to the reserve fails the sync without sending more, and the next sync sends nothing', async () => {
    const fake = await startHubspotFake();
    cleanups.push(() => fake.close());
    fake.contacts.push({
      id: '1',
      properties: {
        firstname: 'Anna',
        phone: '044 555 11 11',
        hs_lastmodifieddate: '2026-11-02T08:00:00.000Z',
      },
      createdAt: '2026-11-01T08:00:00.000Z',
      updatedAt: '2026-11-02T08:00:00.000Z',
      archived: false,
    } as never);
    let daily = 1001;
    fake.withLimitHeaders(() => ({
      'X-HubSpot-RateLimit-Daily': '250000',
      'X-HubSpot-RateLimit-Daily-Remaining': String(--daily),
    }));
    const make = () =>
      createHubspotSource(
        {
          ...hubspotSourceSchema.parse({
            type: 'hubspot',
            tokenEnv: 'HUBSPOT_TOKEN',
            baseUrl: fake.url,
            budget: { share: 1, reserve: 1000 },
          }),
          name: 'hubspot',
        } as HubspotSourceConfig,
        deps,
        { env: { HUBSPOT_TOKEN }, timing: { now: () => NOW } },
      );
    const source = make();
    const report = await sync(source);
    expect(report.error).toMatch(/request budget is spent; syncs pause until 2026-11-26T10:15:00Z/);
    expect(fake.requests).toHaveLength(1);
    // The same source's next sync (still within the pause) asks nothing of HubSpot.
    const engine = createSyncEngine({ store: storeFor().contacts, region: 'CH', logger: silent, workers: 0 });
    cleanups.push(() => engine.stop());
    expect((await engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 3_600_000 })).error).toBeTruthy();
    expect(fake.requests).toHaveLength(1);
  });

  it('Salesforce: with the day spent down to the reserve, the sync stops but a live lookup is still asked', async () => {
    const fake = await startSalesforceFake();
    cleanups.push(() => fake.close());
    fake.objects.Contact.push({
      Id: sfId('003', 1),
      SystemModstamp: sfTime('2026-11-02T08:00:00Z'),
      LastName: 'Keller',
      FirstName: 'Beat',
      Phone: '+41 44 555 66 77',
    });
    fake.withLimitHeaders(() => ({ 'Sforce-Limit-Info': 'api-usage=4901/5000' }));
    const source = createSalesforceSource(
      {
        ...salesforceSourceSchema.parse({
          type: 'salesforce',
          instanceUrl: fake.url,
          clientId: '3MVG9fake',
          clientSecretEnv: 'SF_SECRET',
          budget: { reserve: 100 },
        }),
        name: 'salesforce',
      } as SalesforceSourceConfig,
      deps,
      { env: { SF_SECRET: 'consumer-secret' }, timing: { now: () => NOW } },
    );
    const report = await sync(source);
    expect(report.error).toMatch(/day's request budget is spent/);
    const sent = fake.requests.length;
    expect(sent).toBe(1);
    const found = await source.search!(
      { key: '+41445556677', forms: numberForms('+41445556677'), region: 'CH', limit: 5 },
      { signal: new AbortController().signal },
    );
    expect(found.map((contact) => contact.id)).toEqual([sfId('003', 1)]);
    expect(fake.requests).toHaveLength(sent + 1);
    expect(source.budget?.()).toEqual([{ window: 'daily', remaining: 99, limit: 5000 }]);
  });

  it('what is left of each window is the gauge callcard_source_budget_remaining', async () => {
    const fake = await startPipedriveFake();
    cleanups.push(() => fake.close());
    fake.withLimitHeaders(() => ({
      'x-ratelimit-limit': '80',
      'x-ratelimit-remaining': '77',
      'x-ratelimit-reset': '2',
      'x-daily-requests-left': '9000',
    }));
    const source = createPipedriveSource(
      {
        ...pipedriveSourceSchema.parse({
          type: 'pipedrive',
          tokenEnv: 'PIPEDRIVE_API_TOKEN',
          baseUrl: fake.url,
        }),
        name: 'crm',
      } as PipedriveSourceConfig,
      deps,
      { env: { PIPEDRIVE_API_TOKEN: PIPEDRIVE_TOKEN } },
    );
    expect((await sync(source)).error).toBeUndefined();
    const metrics = createMetrics({
      tenants: [
        {
          name: 'acme',
          sources: [],
          mirrors: [],
          contacts: { syncState: async () => undefined },
          outbox: { counts: async () => ({ pending: 0, running: 0, done: 0, dead: 0 }) },
          budgets: [source],
        },
      ],
    });
    const text = await metrics.registry.getSingleMetricAsString('callcard_source_budget_remaining');
    expect(text).toContain('callcard_source_budget_remaining{tenant="acme",source="crm",window="short"} 77');
    expect(text).toContain(
      'callcard_source_budget_remaining{tenant="acme",source="crm",window="daily"} 9000',
    );
  });
});
