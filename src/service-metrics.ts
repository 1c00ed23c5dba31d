import type { Config } from './config/schema.js';
import type { Core } from './core/open-core.js';
import type { LookupActivity } from './metrics/activity.js';
import { createMetrics, type Metrics, measuredLookup } from './metrics/metrics.js';

export interface ServiceMetrics {
  readonly metrics: Metrics;
  /** What /metrics serves, and the token it asks for. */
  readonly scrape: { readonly registry: Metrics['registry']; readonly token?: string };
  /** /metrics on a listener of its own (`metrics.port`), not on the main one. */
  readonly separate: boolean;
}

/** The service's Prometheus metrics over every tenant, when `metrics.enabled`. */
export function serviceMetrics(
  config: Readonly<Config>,
  tenants: readonly Core[],
): ServiceMetrics | undefined {
  if (!config.metrics.enabled) return undefined;
  const metrics = createMetrics({
    tenants: tenants.map((core) => ({
      name: core.tenant.name,
      sources: core.sources,
      mirrors: [...core.mirrors.keys()],
      budgets: [...core.mirrors.values()].map((entry) => entry.source),
      contacts: core.store.contacts,
      outbox: core.store.outbox,
      connections: core.connections,
    })),
  });
  return {
    metrics,
    scrape: {
      registry: metrics.registry,
      ...(config.metrics.token !== undefined && { token: config.metrics.token }),
    },
    separate: config.metrics.port !== undefined,
  };
}

/**
 * A tenant's lookup as the CONNECTOR calls it: measured when metrics are on, and counted in the
 * console's recent lookups (the workflows' and the console's own lookups are neither).
 */
export function servedLookup(
  core: Core,
  metrics: ServiceMetrics | undefined,
  activity?: LookupActivity,
): Core['lookup'] {
  if (!metrics && !activity) return core.lookup;
  return measuredLookup(
    core.lookup,
    {
      recordLookup(tenant, result, seconds) {
        metrics?.metrics.recordLookup(tenant, result, seconds);
        activity?.recordLookup(result);
      },
    },
    core.tenant.name,
  );
}
