import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { CoreOptions } from './core/open-core.js';
import { createLogger } from './logging.js';
import { readinessOf } from './readiness.js';
import { rotation } from './rotation.js';
import { openServedConsoles, type ServedConsoles } from './served-consoles.js';
import { openServedTenants, type ServedTenant } from './served-tenants.js';
import { buildServiceApps, type ServiceApps } from './service-apps.js';
import { serviceMetrics } from './service-metrics.js';
import { readTls } from './tls.js';

export type { ServedTenant } from './served-tenants.js';

export interface Service {
  readonly config: Readonly<Config>;
  readonly tenants: readonly ServedTenant[];
  readonly app: FastifyInstance;
  /** Serves /metrics alone when `metrics.port` is set; serve listens on it. */
  readonly metricsApp?: FastifyInstance;
  /** Serves the consoles alone when `admin.port` is set; serve listens on it. */
  readonly consoleApp?: FastifyInstance;
  readonly logger: Logger;
  /** Reads token files and the TLS certificate again (also done on its own when they change). */
  reload(): void;
  close(): Promise<void>;
}

export interface ServiceOptions extends CoreOptions {
  /** The clock of the rate limits (tests move it). */
  readonly now?: () => number;
}

/** The composition root: every tenant's core (core/), its credentials, and one HTTP app that serves them all. */
export async function createService(
  config: Readonly<Config>,
  options: ServiceOptions = {},
): Promise<Service> {
  const logger = options.logger ?? createLogger(config);
  const tls = readTls(config);
  const served = await openServedTenants(config, options, logger);
  const { tenants } = served;
  const metrics = serviceMetrics(config, tenants);
  const readiness = () => readinessOf(tenants);
  let apps: ServiceApps;
  let consoles: ServedConsoles | undefined;
  try {
    consoles = await openServedConsoles(config, served, logger, options.now);
    apps = await buildServiceApps({
      config,
      served,
      consoles,
      metrics,
      tls,
      readiness,
      logger,
      now: options.now,
    });
  } catch (error) {
    await consoles?.close();
    await Promise.allSettled(tenants.map((tenant) => tenant.close()));
    throw error;
  }
  const { app, consoleApp, metricsApp } = apps;
  const opened = consoles;
  const { reload, unwatch } = rotation(config, served, consoleApp ? [app, consoleApp] : [app], logger);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      unwatch();
      // In-flight requests are answered before the sources and the stores close.
      await Promise.all([app.close(), metricsApp?.close(), consoleApp?.close()]);
      await Promise.allSettled(tenants.map((tenant) => tenant.close()));
      await opened.close();
    })());
  return {
    config,
    tenants,
    app,
    ...(metricsApp && { metricsApp }),
    ...(consoleApp && { consoleApp }),
    logger,
    reload,
    close,
  };
}
