import type { Config } from './config/schema.js';
import type { Core } from './core/open-core.js';
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

/** A tenant's lookup as the CONNECTOR calls it: measured when metrics are on (the workflows' own lookups are not). */
export function servedLookup(core: Core, metrics: ServiceMetrics | undefined): Core['lookup'] {
  return metrics ? measuredLookup(core.lookup, metrics.metrics, core.tenant.name) : core.lookup;
}
