import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
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

  const lookupDuration = new Histogram({
    name: 'callcard_lookup_duration_seconds',
    help: 'Time taken by one lookup, all sources together.',
    labelNames: ['tenant'] as const,
    buckets: BUCKETS,
    registers,
  });
  const sourceDuration = new Histogram({
    name: 'callcard_source_duration_seconds',
    help: 'Time taken by one source for one lookup.',
    labelNames: ['tenant', 'source', 'mode', 'status'] as const,
    buckets: BUCKETS,
    registers,
  });
  const lookups = new Counter({
    name: 'callcard_lookups_total',
    help: 'Lookups by outcome: hit (a contact found), miss (none found), empty (no or withheld number).',
    labelNames: ['tenant', 'outcome'] as const,
    registers,
  });
  const sourceResults = new Counter({
    name: 'callcard_source_results_total',
    help: 'Sources asked during lookups, by how they answered.',
    labelNames: ['tenant', 'source', 'status'] as const,
    registers,
  });
  const liveCache = new Counter({
    name: 'callcard_live_cache_total',
    help: "Live sources' answers taken from the cache (hit) or asked of the source (miss).",
    labelNames: ['tenant', 'source', 'result'] as const,
    registers,
  });

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
    for (const outcome of ['hit', 'miss', 'empty']) lookups.inc({ tenant, outcome }, 0);
    for (const { name: source, mode } of sources) {
      for (const status of STATUSES) sourceResults.inc({ tenant, source, status }, 0);
      if (mode === 'live') for (const result of ['hit', 'miss']) liveCache.inc({ tenant, source, result }, 0);
    }
  }

  return {
    registry,
    recordLookup(tenant, result, seconds) {
      lookupDuration.observe({ tenant }, seconds);
      const outcome = result.key === undefined ? 'empty' : result.hits.length > 0 ? 'hit' : 'miss';
      lookups.inc({ tenant, outcome });
      for (const { source, mode, status, ms, cached } of result.outcomes) {
        sourceDuration.observe({ tenant, source, mode, status }, ms / 1000);
        sourceResults.inc({ tenant, source, status });
        if (mode === 'live') liveCache.inc({ tenant, source, result: cached ? 'hit' : 'miss' });
      }
    },
  };
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
