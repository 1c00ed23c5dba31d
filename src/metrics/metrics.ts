import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { ConfiguredSource, Lookup, LookupResult, SourceStatus } from '../lookup/lookup.js';
import type { DeliveryStatus, OutboxStore } from '../store/outbox-types.js';
import type { ContactStore, SyncState } from '../store/types.js';

/**
 * Prometheus metrics on a registry of their own (never prom-client's global one), so several
 * services in one process (tests) do not collide. Labels carry source names and fixed words only:
 * never a number or a token.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Records one lookup of a tenant: its overall duration and each source's outcome. */
  recordLookup(tenant: string, result: LookupResult, seconds: number): void;
}

/** What one tenant reports; every series carries its name as the `tenant` label. */
export interface TenantMetrics {
  readonly name: string;
  readonly sources: readonly Pick<ConfiguredSource, 'name' | 'mode'>[];
  /** Names of the mirrored sources, whose sync state is reported. */
  readonly mirrors: readonly string[];
  readonly contacts: Pick<ContactStore, 'syncState'>;
  readonly outbox: Pick<OutboxStore, 'counts'>;
  /** The tenant's sources that read their vendor's request limits (cloud connectors). */
  readonly budgets?: readonly {
    readonly name: string;
    budget?(): readonly { readonly window: string; readonly remaining: number }[];
  }[];
  /** OAuth connections, whose consent is reported. */
  readonly connections?: {
    names(): string[];
    state(name: string): Promise<{ readonly state: string }>;
  };
}

export interface MetricsOptions {
  readonly tenants: readonly TenantMetrics[];
  readonly now?: () => number;
}

/** Lookups answer in milliseconds; the deadline is at most 10 s. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STATUSES: readonly SourceStatus[] = ['ok', 'timeout', 'error'];
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];

export function createMetrics(options: MetricsOptions): Metrics {
  const { tenants } = options;
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];

  // The lookup series are counted in plain objects (a lookup touches a handful of numbers, no label
  // set is hashed) and handed to prom-client when scraped, in the order they appeared.
  const lookupDuration = new PlainHistogram(
    'callcard_lookup_duration_seconds',
    'Time taken by one lookup, all sources together.',
    BUCKETS,
  );
  const sourceDuration = new PlainHistogram(
    'callcard_source_duration_seconds',
    'Time taken by one source for one lookup.',
    BUCKETS,
  );
  const lookups = new PlainCounters();
  const sourceResults = new PlainCounters();
  const liveCache = new PlainCounters();
  for (const histogram of [lookupDuration, sourceDuration]) registry.registerMetric(histogram.metric());
  new Counter({
    name: 'callcard_lookups_total',
    help: 'Lookups by outcome: hit (a contact found), miss (none found), empty (no or withheld number).',
    labelNames: ['tenant', 'outcome'] as const,
    registers,
    collect() {
      lookups.collect(this);
    },
  });
  new Counter({
    name: 'callcard_source_results_total',
    help: 'Sources asked during lookups, by how they answered.',
    labelNames: ['tenant', 'source', 'status'] as const,
    registers,
    collect() {
      sourceResults.collect(this);
    },
  });
  new Counter({
    name: 'callcard_live_cache_total',
    help: "Live sources' answers taken from the cache (hit) or asked of the source (miss).",
    labelNames: ['tenant', 'source', 'result'] as const,
    registers,
    collect() {
      liveCache.collect(this);
    },
  });

  /** A tenant's series, made when first needed (at start for the configured tenants and sources). */
  const tenantSeries = new Map<string, TenantSeries>();
  const seriesOf = (tenant: string): TenantSeries => {
    let series = tenantSeries.get(tenant);
    if (!series) {
      series = {
        outcomes: {},
        sources: new Map(),
      };
      tenantSeries.set(tenant, series);
    }
    return series;
  };
  const sourceSeriesOf = (tenant: string, of: TenantSeries, source: string): SourceSeries => {
    let series = of.sources.get(source);
    if (!series) {
      series = { tenant, source, results: {}, cache: {}, durations: new Map() };
      of.sources.set(source, series);
    }
    return series;
  };
  const outcomeOf = (tenant: string, series: TenantSeries, outcome: LookupOutcome) => {
    let counter = series.outcomes[outcome];
    if (!counter) {
      counter = lookups.series({ tenant, outcome });
      series.outcomes[outcome] = counter;
    }
    return counter;
  };
  const resultOf = (series: SourceSeries, status: SourceStatus) => {
    let counter = series.results[status];
    if (!counter) {
      counter = sourceResults.series({ tenant: series.tenant, source: series.source, status });
      series.results[status] = counter;
    }
    return counter;
  };
  const cacheOf = (series: SourceSeries, result: 'hit' | 'miss') => {
    let counter = series.cache[result];
    if (!counter) {
      counter = liveCache.series({ tenant: series.tenant, source: series.source, result });
      series.cache[result] = counter;
    }
    return counter;
  };
  const durationOf = (series: SourceSeries, mode: string, status: SourceStatus) => {
    const key = `${mode}:${status}`;
    let histogram = series.durations.get(key);
    if (!histogram) {
      histogram = sourceDuration.series({ tenant: series.tenant, source: series.source, mode, status });
      series.durations.set(key, histogram);
    }
    return histogram;
  };

  /** Each mirrored source's sync state, read once per scrape for both sync gauges. */
  const mirrorStates = async () => {
    const states: { labels: { tenant: string; source: string }; state: SyncState | undefined }[] = [];
    for (const { name: tenant, mirrors, contacts } of tenants) {
      for (const source of mirrors)
        states.push({ labels: { tenant, source }, state: await contacts.syncState(source) });
    }
    return states;
  };
  new Gauge({
    name: 'callcard_sync_age_seconds',
    help: "Seconds since a mirrored source's last successful sync.",
    labelNames: ['tenant', 'source'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { labels, state } of await mirrorStates()) {
        if (state?.succeededAt !== undefined)
          this.set(labels, Math.max(0, (now() - state.succeededAt) / 1000));
      }
    },
  });
  new Gauge({
    name: 'callcard_sync_errors',
    help: "1 when a mirrored source's last sync attempt failed, else 0.",
    labelNames: ['tenant', 'source'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { labels, state } of await mirrorStates())
        this.set(labels, state?.error === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: 'callcard_outbox_deliveries',
    help: 'Workflow deliveries in the outbox, by status.',
    labelNames: ['tenant', 'status'] as const,
    registers,
    async collect() {
      for (const { name: tenant, outbox } of tenants) {
        const counts = await outbox.counts();
        for (const status of DELIVERY_STATUSES) this.set({ tenant, status }, counts[status] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'callcard_source_budget_remaining',
    help: "Requests left in a cloud connector's vendor limit window (short: the burst window; daily: the day's), as its last answer told.",
    labelNames: ['tenant', 'source', 'window'] as const,
    registers,
    collect() {
      this.reset();
      for (const { name: tenant, budgets } of tenants) {
        for (const source of budgets ?? []) {
          for (const { window, remaining } of source.budget?.() ?? [])
            this.set({ tenant, source: source.name, window }, remaining);
        }
      }
    },
  });

  new Gauge({
    name: 'callcard_oauth_consent_needed',
    help: 'OAuth connections: 1 when consent is needed (withdrawn, or never given): run callcard connect; else 0.',
    labelNames: ['tenant', 'connection'] as const,
    registers,
    async collect() {
      this.reset();
      for (const { name: tenant, connections } of tenants) {
        for (const connection of connections?.names() ?? []) {
          const { state } = await connections!.state(connection);
          this.set({ tenant, connection }, state === 'connected' ? 0 : 1);
        }
      }
    },
  });

  collectDefaultMetrics({ register: registry });

  // Every series known in advance starts at 0, so rates work from the first scrape.
  for (const { name: tenant, sources } of tenants) {
    const series = seriesOf(tenant);
    for (const outcome of ['hit', 'miss', 'empty'] as const) outcomeOf(tenant, series, outcome);
    for (const { name: source, mode } of sources) {
      const ofSource = sourceSeriesOf(tenant, series, source);
      for (const status of STATUSES) resultOf(ofSource, status);
      if (mode === 'live') for (const result of ['hit', 'miss'] as const) cacheOf(ofSource, result);
    }
  }

  return {
    registry,
    recordLookup(tenant, result, seconds) {
      const series = seriesOf(tenant);
      // A histogram's series shows from its first observation on (as prom-client's).
      series.duration ??= lookupDuration.series({ tenant });
      series.duration.observe(seconds);
      const outcome = result.key === undefined ? 'empty' : result.hits.length > 0 ? 'hit' : 'miss';
      outcomeOf(tenant, series, outcome).value += 1;
      for (const { source, mode, status, ms, cached } of result.outcomes) {
        const ofSource = sourceSeriesOf(tenant, series, source);
        durationOf(ofSource, mode, status).observe(ms / 1000);
        resultOf(ofSource, status).value += 1;
        if (mode === 'live') cacheOf(ofSource, cached ? 'hit' : 'miss').value += 1;
      }
    },
  };
}

type LookupOutcome = 'hit' | 'miss' | 'empty';

interface TenantSeries {
  duration?: HistogramSeries;
  readonly outcomes: Partial<Record<LookupOutcome, CounterSeries>>;
  readonly sources: Map<string, SourceSeries>;
}

interface SourceSeries {
  readonly tenant: string;
  readonly source: string;
  readonly results: Partial<Record<SourceStatus, CounterSeries>>;
  readonly cache: Partial<Record<'hit' | 'miss', CounterSeries>>;
  /** By mode and status (`embedded:ok`). */
  readonly durations: Map<string, HistogramSeries>;
}

type Labels = Readonly<Record<string, string>>;

interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

/** One counter family's series, counted in plain numbers; prom-client's Counter reads them when scraped. */
class PlainCounters {
  readonly #series: CounterSeries[] = [];

  series(labels: Labels): CounterSeries {
    const series = { labels, value: 0 };
    this.#series.push(series);
    return series;
  }

  collect(counter: Counter) {
    counter.reset();
    for (const { labels, value } of this.#series) counter.inc({ ...labels }, value);
  }
}

/** One histogram series: a count per bucket (not cumulative), the sum and the count. */
class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number) {
    this.sum += value;
    this.count += 1;
    // As prom-client: the first bucket whose bound is at least the value; past the last, +Inf only.
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

/**
 * A histogram family whose series are plain numbers, registered in prom-client's registry as a
 * metric of its own: its samples are those prom-client's Histogram gives for the same observations
 * (`_bucket` cumulative with `le` first, then `_sum` and `_count`), in the order the series appeared.
 */
class PlainHistogram {
  readonly #series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  series(labels: Labels): HistogramSeries {
    const series = new HistogramSeries(labels, this.bounds);
    this.#series.push(series);
    return series;
  }

  /** The samples, each with the series' labels apart (`sharedLabels`), as the registry's text wants them. */
  #samples() {
    const { name } = this;
    const samples: {
      labels: Record<string, string | number>;
      sharedLabels: Labels;
      value: number;
      metricName: string;
      exemplar?: null;
    }[] = [];
    for (const series of this.#series) {
      let cumulative = 0;
      series.bounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        samples.push({
          labels: { le },
          sharedLabels: series.labels,
          value: cumulative,
          metricName: `${name}_bucket`,
          exemplar: null,
        });
      });
      samples.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: series.labels,
          value: series.count,
          metricName: `${name}_bucket`,
          exemplar: null,
        },
        { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${name}_count` },
      );
    }
    return samples;
  }

  /** What the registry reads: the Histogram's name, help, type and aggregator, and the samples. */
  metric(): Metric {
    const described = { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum' } as const;
    const metric = {
      ...described,
      getForPromString: async () => ({ ...described, values: this.#samples() }),
      // As prom-client's get(): each sample's labels with the series' labels spread in.
      get: async () => ({
        ...described,
        values: this.#samples().map(({ sharedLabels, labels, ...sample }) => ({
          ...sample,
          labels: Object.assign(labels, sharedLabels),
        })),
      }),
      reset: () => {
        for (const series of this.#series) {
          series.counts.fill(0);
          series.sum = 0;
          series.count = 0;
        }
      },
    };
    // The registry takes any metric with these members (it calls getForPromString, get and reset).
    return metric as unknown as Metric;
  }
}

/** The lookup, measured: the core stays free of metrics. */
export function measuredLookup(
  lookup: Lookup,
  metrics: Pick<Metrics, 'recordLookup'>,
  tenant: string,
): Lookup {
  return async (input) => {
    const started = performance.now();
    const result = await lookup(input);
    metrics.recordLookup(tenant, result, (performance.now() - started) / 1000);
    return result;
  };
}
