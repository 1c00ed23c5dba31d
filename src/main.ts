import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { CoreOptions } from './core/open-core.js';
import { createAppSwitch } from './http/switch.js';
import { createLogger } from './logging.js';
import { readinessOf } from './readiness.js';
import { rotation } from './rotation.js';
import { openServedConsoles, type ServedConsoles } from './served-consoles.js';
import { openServedTenants, type ServedTenant, type ServedTenants } from './served-tenants.js';
import { buildServiceApps, type ServiceApps } from './service-apps.js';
import { serviceMetrics } from './service-metrics.js';
import { type ConfigReload, restartOnlyChanges, tenantChanges, tenantRetention } from './tenants-reload.js';
import { readTls, watchFiles } from './tls.js';

export type { ServedTenant } from './served-tenants.js';
export type { ConfigReload } from './tenants-reload.js';

export interface Service {
  /** The configuration served now (its tenants change at a reload of the config file). */
  readonly config: Readonly<Config>;
  /** The tenants served now. */
  readonly tenants: readonly ServedTenant[];
  /**
   * The app answering now: a reload that changes the tenants builds a new one, and the listener's
   * requests go to it from then on (http/switch.ts). Listen on it before any reload.
   */
  readonly app: FastifyInstance;
  /** Serves /metrics alone when `metrics.port` is set; serve listens on it. */
  readonly metricsApp?: FastifyInstance;
  /** Serves the consoles alone when `admin.port` is set; serve listens on it. */
  readonly consoleApp?: FastifyInstance;
  readonly logger: Logger;
  /**
   * Reads token files and the TLS certificate again at once (also done on its own when they
   * change); then, when the service was started from a config file, that file: tenants added,
   * changed or removed (also done on its own when the file changes). Resolves with the result of
   * the config file's reading, once its changes are served.
   */
  reload(): Promise<ConfigReload | undefined>;
  /** The result of the last reading of the config file after the start, if any. */
  readonly lastReload: ConfigReload | undefined;
  close(): Promise<void>;
}

export interface ServiceOptions extends CoreOptions {
  /** The clock of the rate limits (tests move it). */
  readonly now?: () => number;
  /**
   * The config file the service was started from, and how it is read (as at the start): read again
   * at a reload and when it changes, so that tenants are added, changed and removed without a restart.
   */
  readonly configFile?: { readonly path: string; readonly load: () => Readonly<Config> };
  /** Deletes each tenant's old calls and deliveries as its `journal` and `delivery` keep them. */
  readonly retention?: boolean;
}

/** What is served from one configuration: its tenants, their consoles and the apps over them. */
interface Generation {
  readonly config: Readonly<Config>;
  readonly served: ServedTenants;
  readonly consoles: ServedConsoles;
  readonly apps: ServiceApps;
  readonly rotation: ReturnType<typeof rotation>;
}

/** The composition root: every tenant's core (core/), its credentials, and one HTTP app that serves them all. */
export async function createService(
  config: Readonly<Config>,
  options: ServiceOptions = {},
): Promise<Service> {
  const logger = options.logger ?? createLogger(config);
  const tls = readTls(config);
  const switches = { app: createAppSwitch(), console: createAppSwitch(), metrics: createAppSwitch() };
  const servers = {
    app: switches.app.serverFactory,
    console: switches.console.serverFactory,
    metrics: switches.metrics.serverFactory,
  };
  let current: Generation;
  let lastReload: ConfigReload | undefined;
  const readiness = async () => {
    const state = await readinessOf(current.served.tenants);
    // Shown for monitoring; a refused reload leaves the running configuration, which still serves.
    if (!lastReload) return state;
    return {
      ...state,
      checks: [
        ...state.checks,
        lastReload.ok
          ? { name: 'config reload', ok: true }
          : { name: 'config reload', ok: false, detail: lastReload.reason },
      ],
    };
  };
  /** The apps whose servers listen: those of the start. */
  let listeners: ServiceApps | undefined;

  /** The consoles and apps over tenants opened; on an error, what it opened is closed (not the tenants). */
  const build = async (at: Readonly<Config>, served: ServedTenants, previous?: Generation) => {
    const metrics = serviceMetrics(at, served.tenants);
    let consoles: ServedConsoles | undefined;
    try {
      consoles = await openServedConsoles(at, served, logger, options.now, previous && activityOf(previous));
      const apps = await buildServiceApps({
        config: at,
        served,
        consoles,
        metrics,
        tls,
        readiness,
        logger,
        now: options.now,
        servers,
      });
      listeners ??= apps;
      const tlsApps = listeners.consoleApp ? [listeners.app, listeners.consoleApp] : [listeners.app];
      return { config: at, served, consoles, apps, rotation: rotation(at, served, tlsApps, logger) };
    } catch (error) {
      await consoles?.close();
      throw error;
    }
  };
  const activityOf = (generation: Generation) =>
    new Map(generation.served.tenants.map((core, index) => [core, generation.consoles.activity[index]!]));
  const use = async ({ apps }: Generation) => {
    await switches.app.use(apps.app);
    if (apps.consoleApp) await switches.console.use(apps.consoleApp);
    if (apps.metricsApp) await switches.metrics.use(apps.metricsApp);
  };

  const served = await openServedTenants(config, options, logger);
  try {
    current = await build(config, served);
    await use(current);
  } catch (error) {
    await Promise.allSettled(served.tenants.map((tenant) => tenant.close()));
    throw error;
  }
  const retention = options.retention ? tenantRetention() : undefined;
  retention?.follow(current.served.tenants);

  /** Generations replaced, until their requests are answered and what they alone used is closed. */
  const retiring = new Set<Promise<void>>();
  const retire = (old: Generation, gone: readonly ServedTenant[]) => {
    const done = (async () => {
      const apps = [old.apps.app, old.apps.consoleApp, old.apps.metricsApp];
      await Promise.all([
        switches.app.drained(old.apps.app),
        old.apps.consoleApp && switches.console.drained(old.apps.consoleApp),
        old.apps.metricsApp && switches.metrics.drained(old.apps.metricsApp),
      ]);
      // The apps of the start own the listening servers: they close with the service.
      await Promise.allSettled(
        apps.filter((app) => app && !Object.values(listeners!).includes(app)).map((app) => app!.close()),
      );
      await retention?.stop(gone);
      await Promise.allSettled(gone.map((tenant) => tenant.close()));
      await old.consoles.close();
    })();
    retiring.add(done);
    void done.finally(() => retiring.delete(done));
  };

  const reloadConfig = async (file: NonNullable<ServiceOptions['configFile']>): Promise<ConfigReload> => {
    const refuse = (reason: string): ConfigReload => {
      logger.error(
        { file: file.path, err: { message: reason } },
        'configuration not reloaded; the running one stays',
      );
      return { ok: false, at: Date.now(), reason };
    };
    let fresh: Readonly<Config>;
    try {
      fresh = file.load();
    } catch (error) {
      return refuse((error as Error).message);
    }
    const restartOnly = restartOnlyChanges(current.config, fresh);
    if (restartOnly.length > 0) {
      logger.warn(
        { file: file.path, settings: restartOnly },
        'these settings take effect at the next start; the running ones stay',
      );
    }
    const changes = tenantChanges(current.config.tenants, fresh.tenants);
    if (changes.added.length + changes.changed.length + changes.removed.length === 0) {
      return { ok: true, at: Date.now(), ...changes };
    }
    // Only the tenants change: the listeners, TLS, metrics and consoles' settings are the start's.
    const next: Readonly<Config> = Object.freeze({ ...current.config, tenants: fresh.tenants });
    let nextServed: ServedTenants;
    try {
      nextServed = await openServedTenants(next, options, logger, current.served);
    } catch (error) {
      return refuse((error as Error).message);
    }
    const opened = nextServed.tenants.filter((core) => !current.served.tenants.includes(core));
    let generation: Generation;
    try {
      generation = await build(next, nextServed, current);
      await use(generation);
    } catch (error) {
      await Promise.allSettled(opened.map((core) => core.close()));
      return refuse((error as Error).message);
    }
    const old = current;
    current = generation;
    old.rotation.unwatch();
    retention?.follow(opened);
    retire(
      old,
      old.served.tenants.filter((core) => !nextServed.tenants.includes(core)),
    );
    logger.info({ file: file.path, ...changes }, 'tenants reloaded');
    return { ok: true, at: Date.now(), ...changes };
  };

  // One reading at a time; a change seen meanwhile is read once more after it.
  let reloading: Promise<ConfigReload | undefined> = Promise.resolve(undefined);
  const reload = () => {
    current.rotation.reload();
    const file = options.configFile;
    if (!file) return Promise.resolve(undefined);
    reloading = reloading.then(async () => {
      lastReload = await reloadConfig(file);
      return lastReload;
    });
    return reloading;
  };
  const unwatchConfig = options.configFile
    ? watchFiles([options.configFile.path], () => void reload())
    : () => {};

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      unwatchConfig();
      await reloading.catch(() => {});
      current.rotation.unwatch();
      for (const lever of Object.values(switches)) lever.stop();
      // In-flight requests are answered before the sources and the stores close: the listening
      // servers close once their connections are done, and with them every request of any app.
      await Promise.all([
        listeners!.app.close(),
        listeners!.metricsApp?.close(),
        listeners!.consoleApp?.close(),
      ]);
      const { app, metricsApp, consoleApp } = current.apps;
      await Promise.all(
        [app, metricsApp, consoleApp]
          .filter((one) => one && !Object.values(listeners!).includes(one))
          .map((one) => one!.close()),
      );
      await Promise.allSettled(retiring);
      await retention?.stop(current.served.tenants);
      await Promise.allSettled(current.served.tenants.map((tenant) => tenant.close()));
      await current.consoles.close();
    })());
  return {
    get config() {
      return current.config;
    },
    get tenants() {
      return current.served.tenants;
    },
    get app() {
      return current.apps.app;
    },
    get metricsApp() {
      return current.apps.metricsApp;
    },
    get consoleApp() {
      return current.apps.consoleApp;
    },
    get lastReload() {
      return lastReload;
    },
    logger,
    reload,
    close,
  };
}
