import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildApp, buildConsoleApp, buildMetricsApp } from './http/app.js';
import type { Readiness } from './http/routes/service.js';
import type { ServedConsoles } from './served-consoles.js';
import { type ServedTenants, tenantRoutes } from './served-tenants.js';
import { type ServiceMetrics, servedLookup } from './service-metrics.js';
import type { readTls } from './tls.js';

export interface ServiceApps {
  /** The CONNECTOR API of every tenant, the service routes, and the consoles unless they are apart. */
  readonly app: FastifyInstance;
  /** The consoles alone, when `admin.port` is set. */
  readonly consoleApp?: FastifyInstance;
  /** `/metrics` and `/readyz` alone, when `metrics.port` is set. */
  readonly metricsApp?: FastifyInstance;
}

/** The HTTP apps that serve the tenants: one, or up to three listeners as the config asks. */
export async function buildServiceApps(parts: {
  readonly config: Readonly<Config>;
  readonly served: ServedTenants;
  readonly consoles: ServedConsoles;
  readonly metrics: ServiceMetrics | undefined;
  readonly tls: ReturnType<typeof readTls>;
  readonly readiness: () => Promise<Readiness>;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Each listener's, when a reload may build the apps again (http/switch.ts). */
  readonly servers?: {
    readonly app: FastifyServerFactory;
    readonly console: FastifyServerFactory;
    readonly metrics: FastifyServerFactory;
  };
}): Promise<ServiceApps> {
  const { config, served, consoles, metrics, tls, readiness, logger, servers } = parts;
  const app = await buildApp({
    config,
    tenants: tenantRoutes(served, (core, index) => servedLookup(core, metrics, consoles.activity[index])).map(
      (routes, index) => (consoles.apart ? routes : { ...routes, console: consoles.options[index]! }),
    ),
    ...(tls && { tls }),
    readiness,
    ...(config.metrics.token !== undefined && { readinessToken: config.metrics.token }),
    logger,
    ...(parts.now && { now: parts.now }),
    ...(metrics && !metrics.separate && { metrics: metrics.scrape }),
    ...(servers && { serverFactory: servers.app }),
  });
  const consoleApp = consoles.apart
    ? await buildConsoleApp({
        tenants: served.tenants.map((core, index) => ({
          tenant: core.tenant,
          console: consoles.options[index]!,
        })),
        config,
        ...(tls && { tls }),
        logger,
        ...(servers && { serverFactory: servers.console }),
      })
    : undefined;
  const metricsApp = metrics?.separate
    ? await buildMetricsApp({
        ...metrics.scrape,
        logger,
        readiness,
        ...(servers && { serverFactory: servers.metrics }),
      })
    : undefined;
  return { app, ...(consoleApp && { consoleApp }), ...(metricsApp && { metricsApp }) };
}
