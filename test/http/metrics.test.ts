import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LookupResult } from '../../src/lookup/lookup.js';
import { createMetrics, measuredLookup } from '../../src/metrics/metrics.js';
import { AUTH, build, type TestService, TOKEN, tempDir } from '../support/helper.js';

const CSV = `id,name,phone
c1,Alexa Holiday,079 123 45 67
`;
const HIT = '41791234567';
const MISS = '41795551234';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of Prometheus' text format. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with exactly these labels; undefined when there is none. */
/** A sample's value; every series carries its tenant, the one tenant of a plain config unless given. */
function sampleValue(samples: readonly Sample[], name: string, only: Record<string, string> = {}) {
  const labels = { tenant: 'default', ...only };
  const found = samples.find(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found?.value;
}

describe('GET /metrics', () => {
  let service: TestService;
  const files = tempDir();
  const lookup = (phoneNumber: string) =>
    service.app.inject({
      method: 'POST',
      url: '/Lookup',
      headers: AUTH,
      payload: { inputs: { phoneNumber } },
    });
  const scrape = async () => {
    const response = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  beforeAll(async () => {
    writeFileSync(join(files.path, 'office.csv'), 'id,name,phone\no1,Office Desk,021 552 20 00\n');
    service = await build({
      sources: [
        { type: 'embedded' },
        { type: 'file', name: 'office', path: join(files.path, 'office.csv') },
        { type: 'file', name: 'gone', path: join(files.path, 'missing.csv') },
      ],
    });
    await service.importCsv(CSV);
  });
  afterAll(async () => {
    await service.close();
    files.remove();
  });

  it('counts lookups by outcome and times them, overall and per source', async () => {
    expect((await lookup(HIT)).json()).toHaveLength(1);
    expect((await lookup(MISS)).json()).toEqual([]);
    expect((await lookup('')).json()).toEqual([]);
    const samples = parse(await scrape());

    expect(sampleValue(samples, 'callcard_lookups_total', { outcome: 'hit' })).toBe(1);
    expect(sampleValue(samples, 'callcard_lookups_total', { outcome: 'miss' })).toBe(1);
    expect(sampleValue(samples, 'callcard_lookups_total', { outcome: 'empty' })).toBe(1);
    expect(sampleValue(samples, 'callcard_lookup_duration_seconds_count')).toBe(3);
    expect(sampleValue(samples, 'callcard_lookup_duration_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(sampleValue(samples, 'callcard_lookup_duration_seconds_sum')).toBeGreaterThan(0);
    // The empty number asks no source.
    for (const [source, mode] of [
      ['contacts', 'embedded'],
      ['office', 'mirror'],
      ['gone', 'mirror'],
    ] as const) {
      expect(sampleValue(samples, 'callcard_source_results_total', { source, status: 'ok' })).toBe(2);
      expect(sampleValue(samples, 'callcard_source_results_total', { source, status: 'error' })).toBe(0);
      expect(sampleValue(samples, 'callcard_source_results_total', { source, status: 'timeout' })).toBe(0);
      expect(
        sampleValue(samples, 'callcard_source_duration_seconds_count', {
          source,
          mode,
          status: 'ok',
        }),
      ).toBe(2);
    }
    // Prometheus' own process metrics are on the same registry.
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('shows the outbox by status', async () => {
    let samples = parse(await scrape());
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'pending' })).toBe(0);
    await service.store.outbox.enqueue(
      [
        {
          id: 'CallFlow:call-1:0',
          workflow: 'CallFlow',
          callId: 'call-1',
          action: 0,
          actionType: 'webhook',
          orderKey: 'contact-1',
          payload: {},
          maxAttempts: 3,
        },
      ],
      Date.now(),
    );
    samples = parse(await scrape());
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'pending' })).toBe(1);
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'done' })).toBe(0);
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'dead' })).toBe(0);
  });

  it("shows mirrored sources' sync age and failures", async () => {
    let samples = parse(await scrape());
    expect(sampleValue(samples, 'callcard_sync_age_seconds', { source: 'office' })).toBeUndefined();
    await service.sync.sync(service.mirrors.get('office')!);
    await service.sync.sync(service.mirrors.get('gone')!).catch(() => undefined);
    samples = parse(await scrape());
    const age = sampleValue(samples, 'callcard_sync_age_seconds', { source: 'office' });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    expect(sampleValue(samples, 'callcard_sync_errors', { source: 'office' })).toBe(0);
    // Never synced: no age, and its failure shows.
    expect(sampleValue(samples, 'callcard_sync_age_seconds', { source: 'gone' })).toBeUndefined();
    expect(sampleValue(samples, 'callcard_sync_errors', { source: 'gone' })).toBe(1);
    // The embedded source is not mirrored.
    expect(sampleValue(samples, 'callcard_sync_errors', { source: 'contacts' })).toBeUndefined();
  });

  it('shows no phone number, in labels or anywhere', async () => {
    await lookup(HIT);
    await lookup(`+${MISS}`);
    const text = await scrape();
    for (const number of [HIT, MISS]) {
      expect(text).not.toContain(number);
      expect(text).not.toContain(number.slice(2));
    }
    for (const sample of parse(text)) {
      for (const value of Object.values(sample.labels)) expect(value).not.toMatch(/\d{5}/);
    }
  });

  it('needs no token of the CONNECTOR when none is configured for it', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/metrics', headers: AUTH });
    expect(response.statusCode).toBe(200);
  });
});

describe('GET /metrics, configured', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });
  const METRICS_TOKEN = 'metrics-token-0123456789';

  it('needs the bearer token when one is set', async () => {
    service = await build({ metrics: { token: METRICS_TOKEN } });
    const scrape = (headers: Record<string, string> = {}) =>
      service!.app.inject({ method: 'GET', url: '/metrics', headers });
    const missing = await scrape();
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.body).not.toContain('callcard_');
    expect((await scrape({ authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    expect((await scrape({ authorization: METRICS_TOKEN })).statusCode).toBe(401);
    expect((await scrape({ authorization: `Bearer ${TOKEN}` })).statusCode).toBe(401);
    expect((await scrape(AUTH)).statusCode).toBe(401);
    const ok = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('callcard_lookups_total');
    // The scheme is case-insensitive (RFC 9110).
    for (const scheme of ['bearer', 'BEARER', 'beaRer']) {
      expect((await scrape({ authorization: `${scheme} ${METRICS_TOKEN}` })).statusCode, scheme).toBe(200);
    }
    expect((await scrape({ authorization: `Basic ${METRICS_TOKEN}` })).statusCode).toBe(401);
    expect((await scrape({ authorization: `Bearer${METRICS_TOKEN}` })).statusCode).toBe(401);
  });

  it('rejects a short token', async () => {
    await expect(build({ metrics: { token: 'short' } })).rejects.toThrow(/metrics\.token/);
  });

  it('serves them on their own listener when a port is set, not on the main one', async () => {
    service = await build({ metrics: { port: 9464 } });
    expect((await service.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect(service.metricsApp).toBeDefined();
    const response = await service.metricsApp!.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('callcard_lookups_total');
  });

  it('serves nothing when disabled', async () => {
    service = await build({ metrics: { enabled: false } });
    expect((await service.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect(service.metricsApp).toBeUndefined();
  });
});

describe('createMetrics', () => {
  it("counts live sources' cache hits and misses, and failed sources", async () => {
    const metrics = createMetrics({
      tenants: [
        {
          name: 'default',
          sources: [{ name: 'crm', mode: 'live' }],
          mirrors: [],
          contacts: { syncState: async () => undefined },
          outbox: { counts: async () => ({ pending: 0, running: 0, done: 2, dead: 1 }) },
        },
      ],
    });
    const outcome = { source: 'crm', mode: 'live', found: 0, ms: 12 } as const;
    const lookup = measuredLookup(
      async () => ({ key: '41791234567', hits: [], outcomes: [{ ...outcome, status: 'ok' }] }),
      metrics,
      'default',
    );
    await lookup('0791234567');
    metrics.recordLookup(
      'default',
      { key: '41791234567', hits: [], outcomes: [{ ...outcome, status: 'ok', cached: true }] },
      0.001,
    );
    metrics.recordLookup(
      'default',
      { key: '41791234567', hits: [], outcomes: [{ ...outcome, status: 'timeout', ms: 1000 }] },
      1,
    );
    const samples = parse(await metrics.registry.metrics());
    expect(sampleValue(samples, 'callcard_live_cache_total', { source: 'crm', result: 'hit' })).toBe(1);
    expect(sampleValue(samples, 'callcard_live_cache_total', { source: 'crm', result: 'miss' })).toBe(2);
    expect(sampleValue(samples, 'callcard_source_results_total', { source: 'crm', status: 'timeout' })).toBe(
      1,
    );
    expect(sampleValue(samples, 'callcard_source_results_total', { source: 'crm', status: 'ok' })).toBe(2);
    expect(
      sampleValue(samples, 'callcard_source_duration_seconds_bucket', {
        source: 'crm',
        mode: 'live',
        status: 'timeout',
        le: '0.5',
      }),
    ).toBe(0);
    expect(
      sampleValue(samples, 'callcard_source_duration_seconds_bucket', {
        source: 'crm',
        mode: 'live',
        status: 'timeout',
        le: '1',
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'callcard_lookups_total', { outcome: 'miss' })).toBe(3);
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'dead' })).toBe(1);
    expect(sampleValue(samples, 'callcard_outbox_deliveries', { status: 'done' })).toBe(2);
  });
});

describe('lookup metrics kept in plain counters', () => {
  // The lookup series as prom-client's own labelled metrics keep them, fed the same lookups: the
  // service's /metrics text must not differ from it, series order included.
  const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const FAMILIES = [
    'callcard_lookup_duration_seconds',
    'callcard_source_duration_seconds',
    'callcard_lookups_total',
    'callcard_source_results_total',
    'callcard_live_cache_total',
  ];
  /** The blocks of the lookup families in a registry's text, in the registry's order. */
  const lookupBlocks = (text: string) =>
    text
      .split('\n\n')
      .map((block) => block.trim())
      .filter((block) => FAMILIES.some((name) => block.startsWith(`# HELP ${name} `)));

  it('serves the same text as prom-client labelled metrics fed the same lookups', async () => {
    const tenants = [
      {
        name: 'default',
        sources: [
          { name: 'contacts', mode: 'embedded' },
          { name: 'crm', mode: 'live' },
        ],
      },
      { name: 'acme', sources: [{ name: 'office', mode: 'mirror' }] },
    ] as const;
    const metrics = createMetrics({
      tenants: tenants.map(({ name, sources }) => ({
        name,
        sources,
        mirrors: [],
        contacts: { syncState: async () => undefined },
        outbox: { counts: async () => ({ pending: 0, running: 0, done: 0, dead: 0 }) },
      })),
    });

    const registry = new Registry();
    const registers = [registry];
    const lookupDuration = new Histogram({
      name: 'callcard_lookup_duration_seconds',
      help: 'Time taken by one lookup, all sources together.',
      labelNames: ['tenant'],
      buckets: BUCKETS,
      registers,
    });
    const sourceDuration = new Histogram({
      name: 'callcard_source_duration_seconds',
      help: 'Time taken by one source for one lookup.',
      labelNames: ['tenant', 'source', 'mode', 'status'],
      buckets: BUCKETS,
      registers,
    });
    const lookups = new Counter({
      name: 'callcard_lookups_total',
      help: 'Lookups by outcome: hit (a contact found), miss (none found), empty (no or withheld number).',
      labelNames: ['tenant', 'outcome'],
      registers,
    });
    const sourceResults = new Counter({
      name: 'callcard_source_results_total',
      help: 'Sources asked during lookups, by how they answered.',
      labelNames: ['tenant', 'source', 'status'],
      registers,
    });
    const liveCache = new Counter({
      name: 'callcard_live_cache_total',
      help: "Live sources' answers taken from the cache (hit) or asked of the source (miss).",
      labelNames: ['tenant', 'source', 'result'],
      registers,
    });
    for (const { name: tenant, sources } of tenants) {
      for (const outcome of ['hit', 'miss', 'empty']) lookups.inc({ tenant, outcome }, 0);
      for (const { name: source, mode } of sources) {
        for (const status of ['ok', 'timeout', 'error']) sourceResults.inc({ tenant, source, status }, 0);
        if (mode === 'live')
          for (const result of ['hit', 'miss']) liveCache.inc({ tenant, source, result }, 0);
      }
    }
    const reference = (tenant: string, result: LookupResult, seconds: number) => {
      lookupDuration.observe({ tenant }, seconds);
      const outcome = result.key === undefined ? 'empty' : result.hits.length > 0 ? 'hit' : 'miss';
      lookups.inc({ tenant, outcome });
      for (const { source, mode, status, ms, cached } of result.outcomes) {
        sourceDuration.observe({ tenant, source, mode, status }, ms / 1000);
        sourceResults.inc({ tenant, source, status });
        if (mode === 'live') liveCache.inc({ tenant, source, result: cached ? 'hit' : 'miss' });
      }
    };

    const hit = { match: {} as never, from: {} as never };
    const statuses = ['ok', 'ok', 'ok', 'timeout', 'error'] as const;
    const record = (tenant: string, result: LookupResult, seconds: number) => {
      metrics.recordLookup(tenant, result, seconds);
      reference(tenant, result, seconds);
    };
    // Before any lookup: every series known in advance, at 0.
    expect(lookupBlocks(await metrics.registry.metrics())).toEqual(lookupBlocks(await registry.metrics()));
    // Durations across every bucket and past the last; sources and tenants configured and not.
    for (let i = 0; i < 300; i++) {
      const seconds = (i % 23) * 0.0007 * 1.9 ** (i % 17);
      const status = statuses[i % statuses.length]!;
      const found = status === 'ok' ? i % 3 : 0;
      if (i % 11 === 0) record('default', { hits: [], outcomes: [] }, seconds);
      else if (i % 7 === 0)
        record(
          'acme',
          {
            key: '41215522000',
            hits: found > 0 ? [hit] : [],
            outcomes: [{ source: 'office', mode: 'mirror', status, found, ms: seconds * 900 }],
          },
          seconds,
        );
      else if (i % 13 === 0)
        record(
          'elsewhere',
          {
            key: '41215522000',
            hits: [],
            outcomes: [{ source: 'other', mode: 'live', status, found: 0, ms: seconds * 1000 }],
          },
          seconds,
        );
      else
        record(
          'default',
          {
            key: '41791234567',
            hits: found > 0 ? [hit] : [],
            outcomes: [
              { source: 'contacts', mode: 'embedded', status: 'ok', found, ms: seconds * 400 },
              {
                source: 'crm',
                mode: 'live',
                status,
                found: 0,
                ms: seconds * 1000,
                ...(i % 4 === 0 && { cached: true }),
              },
              ...(i % 19 === 0
                ? [{ source: 'extra', mode: 'embedded', status: 'ok', found: 0, ms: 0.25 } as const]
                : []),
            ],
          },
          seconds,
        );
    }
    const served = lookupBlocks(await metrics.registry.metrics());
    expect(served).toHaveLength(FAMILIES.length);
    expect(served).toEqual(lookupBlocks(await registry.metrics()));
    // JSON (as a cluster's aggregation reads it) the same too.
    const json = async (from: Registry) =>
      (await from.getMetricsAsJSON()).filter((metric) => FAMILIES.includes(metric.name));
    expect(await json(metrics.registry)).toEqual(await json(registry));
  });
});
