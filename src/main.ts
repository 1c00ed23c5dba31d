import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type Config, pathPrefix } from './config/schema.js';
import type { ConsoleOptions } from './console/kit.js';
import { type Core, type CoreOptions, openCore } from './core/open-core.js';
import {
  credentialsOf,
  reloadedCredentials,
  sharedTokenMessage,
  sharedTokens,
  tokenFileOf,
} from './credentials.js';
import { buildApp, buildConsoleApp, buildMetricsApp, type TenantRoutes } from './http/app.js';
import { Authenticator, type Credential } from './http/auth.js';
import { createLogger, redactorOf } from './logging.js';
import { createLookupActivity } from './metrics/activity.js';
import { createMetrics, measuredLookup } from './metrics/metrics.js';
import { readinessOf } from './readiness.js';
import { ensureSecretFile, newKey, Redactor, secretsOf } from './secrets.js';
import type { AdminStore } from './store/admin-types.js';
import { openAdminStore } from './store/sqlite/admin-store.js';
import { readTls, tlsFilesOf, watchFiles } from './tls.js';

/** A tenant as served: its core and how its callers authenticate. */
export interface ServedTenant extends Core {
  /** The token callcard generated on this start, when none was configured (first start). */
  readonly generatedToken?: { readonly value: string; readonly file: string };
  /** The token file in the data directory, when the token comes from there. */
  readonly tokenFile?: string;
}

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
  // Tokens read from files, now and when reloaded, are hidden by the logger's redactor too.
  const redactor = redactorOf(logger);
  const read = (tenant: Config['tenants'][number]) => {
    const auth = credentialsOf(tenant);
    redactor?.add(auth.credentials.flatMap((set) => Object.values(set)));
    return auth;
  };
  const tenants: ServedTenant[] = [];
  const auths: Authenticator[] = [];
  /** The header sets each tenant accepts now, by the tenants' order. */
  const credentials: Credential[][] = [];
  const tls = readTls(config);
  try {
    for (const tenant of config.tenants) {
      const auth = read(tenant);
      credentials.push(auth.credentials);
      const several = config.tenants.length > 1;
      const core = await openCore(tenant, {
        ...options,
        logger: several ? logger.child({ tenant: tenant.name }) : logger,
      });
      auths.push(new Authenticator(auth.credentials));
      tenants.push({
        ...core,
        ...(auth.tokenFile && { tokenFile: auth.tokenFile }),
        ...(auth.generatedToken && { generatedToken: auth.generatedToken }),
      });
    }
    // One token must never open two tenants, however each got it.
    const [shared] = sharedTokens(
      config.tenants.map((tenant, i) => ({ name: tenant.name, credentials: credentials[i]! })),
    );
    if (shared) throw new Error(`tenant "${shared.tenant}": ${sharedTokenMessage(shared.other)}`);
  } catch (error) {
    await Promise.allSettled(tenants.map((tenant) => tenant.close()));
    throw error;
  }
  const metrics =
    config.metrics.enabled &&
    createMetrics({
      tenants: tenants.map((core) => ({
        name: core.tenant.name,
        sources: core.sources,
        mirrors: [...core.mirrors.keys()],
        contacts: core.store.contacts,
        outbox: core.store.outbox,
      })),
    });
  const scrape = metrics
    ? {
        registry: metrics.registry,
        ...(config.metrics.token !== undefined && { token: config.metrics.token }),
      }
    : undefined;
  const separate = scrape !== undefined && config.metrics.port !== undefined;
  const readiness = () => readinessOf(tenants);
  // The console's accounts: each tenant's in its store; partners' in the instance's data directory
  // (the same store when one tenant keeps its data there).
  const instanceDir = resolve(config.dataDir);
  const partners: AdminStore | undefined = tenants.some(
    (core) => resolve(core.tenant.dataDir) === instanceDir,
  )
    ? undefined
    : openAdminStore(config.dataDir);
  const redact = (text: string) => (redactor ?? new Redactor(secretsOf(config, process.env))).redact(text);
  const consoles = config.tenants.map((tenant) => ({
    name: tenant.name,
    path: `${pathPrefix(tenant.basePath)}/admin`,
  }));
  // Each tenant's console, and the recent lookups its overview shows.
  const consoleOf = tenants.map((core, index) => {
    const activity = createLookupActivity(options.now);
    const secret = ensureSecretFile(core.tenant.dataDir, 'secret', newKey).value;
    const console: Omit<ConsoleOptions, 'tenant'> = {
      accounts: core.store.admin,
      ...(partners && { partners }),
      lookup: core.lookup,
      sources: core.sources,
      contacts: core.store.contacts,
      journal: core.store.calls,
      outbox: core.store.outbox,
      activity,
      credentials: () => credentials[index]!,
      redact,
      csrfKey: createHmac('sha256', secret).update('callcard console forms').digest(),
      ...(consoles.length > 1 && { tenants: consoles }),
      idleTimeoutMs: config.admin.idleTimeoutMs,
      maxSessionMs: config.admin.maxSessionMs,
      ...(options.now && { now: options.now }),
    };
    return { activity, console };
  });
  const consoleApart = config.admin.port !== undefined;
  let app: FastifyInstance;
  let consoleApp: FastifyInstance | undefined;
  try {
    app = await buildApp({
      config,
      tenants: tenants.map((core, index): TenantRoutes => {
        const { activity, console } = consoleOf[index]!;
        // Only the CONNECTOR's lookups are counted, not those the workflows or the console make.
        const recorder = {
          recordLookup: (
            tenant: string,
            result: Parameters<typeof activity.recordLookup>[0],
            seconds: number,
          ) => {
            if (metrics) metrics.recordLookup(tenant, result, seconds);
            activity.recordLookup(result);
          },
        };
        return {
          tenant: core.tenant,
          lookup: measuredLookup(core.lookup, recorder, core.tenant.name),
          workflows: core.workflows,
          journal: core.store.calls,
          outbox: core.store.outbox,
          auth: auths[index]!,
          ...(!consoleApart && { console }),
        };
      }),
      ...(tls && { tls }),
      readiness,
      ...(config.metrics.token !== undefined && { readinessToken: config.metrics.token }),
      logger,
      ...(options.now && { now: options.now }),
      ...(scrape && !separate && { metrics: scrape }),
    });
    if (consoleApart) {
      consoleApp = await buildConsoleApp({
        tenants: tenants.map((core, index) => ({ tenant: core.tenant, console: consoleOf[index]!.console })),
        config,
        ...(tls && { tls }),
        logger,
      });
    }
  } catch (error) {
    await partners?.close();
    await Promise.allSettled(tenants.map((tenant) => tenant.close()));
    throw error;
  }
  const metricsApp = scrape && separate ? await buildMetricsApp({ ...scrape, logger, readiness }) : undefined;

  // Token files and certificates are read again when they change: rotation without a restart.
  const reload = () => {
    const refuse = (index: number, message: string) =>
      logger.error(
        { tenant: config.tenants[index]!.name, err: { message } },
        'tokens not reloaded; the previous ones stay',
      );
    for (const { index, credentials: fresh } of reloadedCredentials(
      config.tenants,
      credentials,
      (tenant) => read(tenant).credentials,
      refuse,
    )) {
      credentials[index] = fresh;
      auths[index]!.update(fresh);
    }
    try {
      const fresh = readTls(config);
      if (fresh) {
        (app.server as unknown as TlsServer).setSecureContext(fresh);
        if (consoleApp) (consoleApp.server as unknown as TlsServer).setSecureContext(fresh);
      }
    } catch (error) {
      logger.error(
        { err: { message: (error as Error).message } },
        'certificate not reloaded; the previous one stays',
      );
    }
  };
  const tlsFiles = tlsFilesOf(config);
  const unwatch = watchFiles(
    [
      ...config.tenants.flatMap((tenant) => tokenFileOf(tenant) ?? []),
      ...(tlsFiles ? [tlsFiles.cert, tlsFiles.key] : []),
    ],
    reload,
  );

  let closing: Promise<void> | undefined;
  return {
    config,
    tenants,
    app,
    ...(metricsApp && { metricsApp }),
    ...(consoleApp && { consoleApp }),
    logger,
    reload,
    close() {
      closing ??= (async () => {
        unwatch();
        // In-flight requests are answered before the sources and the stores close.
        await Promise.all([app.close(), metricsApp?.close(), consoleApp?.close()]);
        await Promise.allSettled(tenants.map((tenant) => tenant.close()));
        await partners?.close();
      })();
      return closing;
    },
  };
}
