import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config, Tenant } from './config/schema.js';
import { buildApp, buildMetricsApp, type TenantRoutes } from './http/app.js';
import { Authenticator, type Credential } from './http/auth.js';
import type { Readiness } from './http/routes/service.js';
import { createIndexFinder } from './lookup/index-finder.js';
import { createLiveFinder } from './lookup/live.js';
import { type ConfiguredSource, createLookup, type Lookup } from './lookup/lookup.js';
import { createMetrics, measuredLookup } from './metrics/metrics.js';
import { ensureSecretFile, newKey, newToken, Redactor, secretsOf } from './secrets.js';
import { openSource } from './sources/registry.js';
import type { Source } from './sources/types.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/types.js';
import { createSyncEngine, type MirrorEntry, type SyncEngine } from './sync/engine.js';
import { createAction } from './workflows/actions/registry.js';
import { attemptTimeout } from './workflows/config.js';
import { outboxInstance } from './workflows/outbox/instance.js';
import { createOutboxWorker, type OutboxWorker } from './workflows/outbox/worker.js';
import { createWorkflowRegistry, type Workflows } from './workflows/registry.js';
import { type ConfiguredAction, createWorkflow, otherParty } from './workflows/workflow.js';

/** One tenant's everything but HTTP: what the CLI commands use. */
export interface Core {
  readonly tenant: Readonly<Tenant>;
  readonly store: Store;
  readonly sources: readonly ConfiguredSource[];
  /** Mirrored sources, by name. */
  readonly mirrors: ReadonlyMap<string, MirrorEntry>;
  readonly sync: SyncEngine;
  readonly lookup: Lookup;
  readonly workflows: Workflows;
  /** Delivers the workflows' actions from the outbox. */
  readonly delivery: OutboxWorker;
  readonly logger: Logger;
  close(): Promise<void>;
}

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
  readonly logger: Logger;
  /** Reads token files and the TLS certificate again (also done on its own when they change). */
  reload(): void;
  close(): Promise<void>;
}

export interface CoreOptions {
  readonly logger?: Logger;
  /** Start syncing mirrored sources at once and on their schedule (serve does; tests sync by hand). */
  readonly startSync?: boolean;
  /** Worker threads that parse numbers during a sync. */
  readonly workers?: number;
  /** Deliver workflow actions from the outbox (serve does; commands that only read do not). */
  readonly startDelivery?: boolean;
}

/**
 * The service's logger. Every line is written through the redactor, so no configured secret
 * (token, password, API key) reaches the log, whatever the message that carries it.
 */
export function createLogger(
  config: Readonly<Pick<Config, 'log' | 'tenants' | 'metrics'>>,
  options: { readonly destination?: DestinationStream } = {},
): Logger {
  const redactor = new Redactor(secretsOf(config));
  const logger = pino(
    {
      level: config.log.level,
      base: { service: 'callcard' },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    options.destination ?? pino.destination(1),
  );
  redactors.set(logger, redactor);
  return logger;
}

/** Each logger's redactor, so secrets read later (a reloaded token file) are hidden by it too. */
const redactors = new WeakMap<Logger, Redactor>();

/** Wiring only, for one tenant: config → store → sources → lookup, workflows and sync. */
export async function openCore(config: Readonly<Tenant>, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? pino({ level: 'info', base: { service: 'callcard' } });
  const secret = Buffer.from(ensureSecretFile(config.dataDir, 'secret', newKey).value, 'base64url');
  const store = openSqliteStore(config.dataDir);
  const baseDir = config.baseDir ?? process.cwd();

  // Workflows by name: CallFlow always (the journal), then those configured; names match in any case.
  const settings = new Map<
    string,
    { name: string; sources?: readonly string[]; actions: ConfiguredAction[] }
  >();
  settings.set('callflow', { name: 'CallFlow', actions: [] });
  for (const [name, workflow] of Object.entries(config.workflows)) {
    const key = name.toLowerCase();
    settings.set(key, {
      name: settings.get(key)?.name ?? name,
      ...(workflow.sources && { sources: workflow.sources }),
      actions: workflow.actions.map((action) => createAction(action, { baseDir })),
    });
  }
  const delivery = createOutboxWorker({
    store: store.outbox,
    actionFor: (item) => settings.get(item.workflow.toLowerCase())?.actions[item.action]?.action,
    logger: logger.child({ part: 'outbox' }),
    leaseMs: config.delivery.leaseMs,
    pollMs: config.delivery.pollMs,
    concurrency: config.delivery.concurrency,
    backoff: { baseMs: config.delivery.backoffBaseMs, maxMs: config.delivery.backoffMaxMs, factor: 2 },
    attemptTimeoutMs: attemptTimeout(config.workflows, config.delivery),
    // The data directory is one instance's: at start it takes back the leases of its earlier runs.
    instance: outboxInstance(config.dataDir),
  });
  // The contact a call was with, for the actions' payload: found as a lookup finds it.
  let lookup: Lookup | undefined;
  const findContact = async (call: Parameters<typeof otherParty>[0]) => {
    const number = otherParty(call);
    if (!number || !lookup) return undefined;
    const { hits } = await lookup(number);
    const hit = call.contactCrmId ? hits.find((h) => h.match.id === call.contactCrmId) : hits[0];
    if (!hit) return undefined;
    const { primary: _, ...contact } = hit.match;
    return { ...contact, source: hit.from.name, crmName: hit.from.crmName };
  };
  const workflows = createWorkflowRegistry(
    [...settings.values()].map((workflow) =>
      createWorkflow({
        ...workflow,
        journal: store.calls,
        secret,
        outbox: store.outbox,
        runner: delivery,
        answerBudgetMs: config.delivery.answerBudgetMs,
        findContact,
      }),
    ),
  );

  const mirrors = new Map<string, MirrorEntry>();
  const opened: Source[] = [];
  const sources: ConfiguredSource[] = [];
  try {
    for (const entry of config.sources) {
      const { source, mode } = await openSource(entry, {
        logger: logger.child({ source: entry.name }),
        baseDir,
      });
      opened.push(source);
      if (mode === 'mirror') {
        mirrors.set(entry.name, {
          source,
          intervalMs: entry.sync.intervalMs,
          fullIntervalMs: entry.sync.fullIntervalMs,
        });
      }
      sources.push({
        name: entry.name,
        mode,
        find:
          mode === 'live'
            ? createLiveFinder(source, config.region, entry.cache)
            : createIndexFinder(store.contacts, entry.name),
        crmName: entry.crmName,
        crmLogo: entry.crmLogo,
        timeoutMs: entry.timeoutMs,
        workflows: workflows.namesFor(entry.name),
      });
    }
  } catch (error) {
    await Promise.allSettled(opened.map((source) => source.close?.()));
    await store.close();
    throw error;
  }
  const sync = createSyncEngine({
    store: store.contacts,
    region: config.region,
    logger,
    workers: options.workers ?? 0,
  });
  if (options.startSync) sync.start([...mirrors.values()]);
  if (options.startDelivery) delivery.start();
  const lookupCore = createLookup({
    sources,
    region: config.region,
    maxResults: config.maxResults,
    deadlineMs: config.lookup.deadlineMs,
    logger,
  });
  lookup = lookupCore;
  let closing: Promise<void> | undefined;
  return {
    tenant: config,
    store,
    sources,
    mirrors,
    sync,
    lookup: lookupCore,
    workflows,
    delivery,
    logger,
    close() {
      closing ??= (async () => {
        await delivery.stop();
        await Promise.allSettled(
          [...settings.values()].flatMap((workflow) =>
            workflow.actions.map(({ action }) => action.close?.()),
          ),
        );
        await sync.stop();
        await Promise.allSettled(opened.map((source) => source.close?.()));
        await store.close();
      })();
      return closing;
    },
  };
}

/** Tokens, one per line (or separated by commas or spaces); `#` starts a comment. */
function splitTokens(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter(Boolean);
}

/** A tenant's token file, as read: relative to the config's folder. */
const tokenFileOf = (tenant: Readonly<Tenant>) =>
  tenant.auth.tokenFile === undefined ? undefined : resolve(tenant.baseDir ?? '.', tenant.auth.tokenFile);

/** The certificate and key files, as read: relative to the config's folder. */
export function tlsFilesOf(config: Readonly<Pick<Config, 'tls' | 'baseDir'>>) {
  if (!config.tls) return undefined;
  const base = config.baseDir ?? '.';
  return { cert: resolve(base, config.tls.cert), key: resolve(base, config.tls.key) };
}

/** The header sets configured for a tenant: inline tokens, its token file, its environment variable. */
export function configuredCredentials(tenant: Readonly<Tenant>): Credential[] {
  const { header, tokens, tokenFile, tokenEnv, credentials } = tenant.auth;
  const file = tokenFileOf(tenant);
  const all = [
    ...tokens,
    ...(file ? splitTokens(readFileSync(file, 'utf8')) : []),
    ...(tokenEnv ? splitTokens(process.env[tokenEnv] ?? '') : []),
  ];
  if (all.some((token) => token.length < 16)) throw new Error('a token is shorter than 16 characters');
  if ((tokenFile || tokenEnv) && all.length === 0 && credentials.length === 0) {
    throw new Error(`${tokenFile ? 'auth.tokenFile' : 'auth.tokenEnv'} holds no token`);
  }
  return [...all.map((token): Credential => ({ [header]: token })), ...credentials];
}

/** What a request must carry to pass a header set, whatever the header names: its values. */
const credentialKey = (set: Credential) => Object.values(set).sort().join('\0');

/**
 * Tenants whose header sets would let the same token in, from any of the ways tokens are given
 * (inline, token files, environment variables, header sets). Each pair once: the later tenant
 * names the earlier one.
 */
export function sharedTokens(
  tenants: readonly { readonly name: string; readonly credentials: readonly Credential[] }[],
): { tenant: string; other: string }[] {
  const owners = new Map<string, string>();
  const found = new Map<string, { tenant: string; other: string }>();
  for (const { name, credentials } of tenants) {
    for (const set of credentials) {
      const key = credentialKey(set);
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, name);
      else if (owner !== name) found.set(`${name}\0${owner}`, { tenant: name, other: owner });
    }
  }
  return [...found.values()];
}

const sameCredentials = (a: readonly Credential[], b: readonly Credential[]) => {
  const keys = (sets: readonly Credential[]) =>
    sets
      .map((set) => JSON.stringify(Object.entries(set).sort()))
      .sort()
      .join('\n');
  return keys(a) === keys(b);
};

/** The message for a tenant that shares a token with another; names no token. */
export const sharedTokenMessage = (other: string) => `a token of it is tenant "${other}"'s too`;

/** The header sets a tenant accepts: those configured, or the token kept in its data directory (made on first start). */
function credentialsOf(tenant: Readonly<Tenant>): {
  credentials: Credential[];
  tokenFile?: string;
  generatedToken?: { value: string; file: string };
} {
  let credentials: Credential[];
  try {
    credentials = configuredCredentials(tenant);
  } catch (error) {
    throw new Error(`tenant "${tenant.name}": ${(error as Error).message}`);
  }
  if (credentials.length > 0) return { credentials };
  const token = ensureSecretFile(tenant.dataDir, 'token', newToken);
  return {
    credentials: [{ [tenant.auth.header]: token.value }],
    tokenFile: token.file,
    ...(token.created && { generatedToken: { value: token.value, file: token.file } }),
  };
}

/** Ready: each tenant's store answers, and each of its mirrored sources has a first good sync to answer from. */
async function readinessOf(cores: readonly Core[]): Promise<Readiness> {
  const checks: { name: string; ok: boolean; detail?: string }[] = [];
  for (const core of cores) {
    const of = cores.length > 1 ? `${core.tenant.name}: ` : '';
    try {
      await core.store.calls.get('readiness');
      checks.push({ name: `${of}store`, ok: true });
    } catch {
      checks.push({ name: `${of}store`, ok: false, detail: 'the store does not answer' });
    }
    for (const name of core.mirrors.keys()) {
      const state = await core.store.contacts.syncState(name).catch(() => undefined);
      checks.push(
        state?.succeededAt !== undefined
          ? { name: `${of}source ${name}`, ok: true }
          : {
              name: `${of}source ${name}`,
              ok: false,
              detail: state?.error ? 'first sync failed' : 'first sync running',
            },
      );
    }
  }
  return { ready: checks.every((check) => check.ok), checks };
}

function readTls(config: Readonly<Config>) {
  const files = tlsFilesOf(config);
  return files && { cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

/** How often token files and certificates are looked at for changes (SIGHUP reloads at once). */
const WATCH_INTERVAL_MS = 5000;

export interface ServiceOptions extends CoreOptions {
  /** The clock of the rate limits (tests move it). */
  readonly now?: () => number;
}

/** Every tenant's core, and one HTTP app that serves them all. */
export async function createService(
  config: Readonly<Config>,
  options: ServiceOptions = {},
): Promise<Service> {
  const logger = options.logger ?? createLogger(config);
  // Tokens read from files, now and when reloaded, are hidden by the logger's redactor too.
  const redactor = redactors.get(logger);
  const several = config.tenants.length > 1;
  const tenants: ServedTenant[] = [];
  const auths: Authenticator[] = [];
  /** The header sets each tenant accepts now, by the tenants' order. */
  const credentials: Credential[][] = [];
  const tls = readTls(config);
  try {
    for (const tenant of config.tenants) {
      const auth = credentialsOf(tenant);
      redactor?.add(auth.credentials.flatMap((set) => Object.values(set)));
      credentials.push(auth.credentials);
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
      config.tenants.map((tenant, index) => ({ name: tenant.name, credentials: credentials[index]! })),
    );
    if (shared) throw new Error(`tenant "${shared.tenant}": ${sharedTokenMessage(shared.other)}`);
  } catch (error) {
    await Promise.allSettled(tenants.map((tenant) => tenant.close()));
    throw error;
  }
  const metrics = config.metrics.enabled
    ? createMetrics({
        tenants: tenants.map((core) => ({
          name: core.tenant.name,
          sources: core.sources,
          mirrors: [...core.mirrors.keys()],
          contacts: core.store.contacts,
          outbox: core.store.outbox,
        })),
      })
    : undefined;
  const scrape = metrics && {
    registry: metrics.registry,
    ...(config.metrics.token !== undefined && { token: config.metrics.token }),
  };
  const separate = scrape !== undefined && config.metrics.port !== undefined;
  const app = await buildApp({
    config,
    tenants: tenants.map(
      (core, index): TenantRoutes => ({
        tenant: core.tenant,
        // Only the CONNECTOR's lookups are measured, not those the workflows make for their actions.
        lookup: metrics ? measuredLookup(core.lookup, metrics, core.tenant.name) : core.lookup,
        workflows: core.workflows,
        journal: core.store.calls,
        outbox: core.store.outbox,
        auth: auths[index]!,
      }),
    ),
    ...(tls && { tls }),
    readiness: () => readinessOf(tenants),
    ...(config.metrics.token !== undefined && { readinessToken: config.metrics.token }),
    logger,
    ...(options.now && { now: options.now }),
    ...(scrape && !separate && { metrics: scrape }),
  });
  const metricsApp =
    scrape && separate
      ? await buildMetricsApp({ ...scrape, logger, readiness: () => readinessOf(tenants) })
      : undefined;

  // Token files and certificates are read again when they change: rotation without a restart.
  const reload = () => {
    const refuse = (index: number, message: string) =>
      logger.error(
        { tenant: config.tenants[index]!.name, err: { message } },
        'tokens not reloaded; the previous ones stay',
      );
    const next = config.tenants.map((tenant, index) => {
      try {
        const fresh = credentialsOf(tenant).credentials;
        redactor?.add(fresh.flatMap((set) => Object.values(set)));
        return fresh;
      } catch (error) {
        refuse(index, (error as Error).message);
        return credentials[index]!;
      }
    });
    // A tenant whose new tokens would open another tenant keeps its previous ones. The previous
    // tokens share none, so going back ends the conflicts; each round goes back on at least one.
    const names = config.tenants.map((tenant) => tenant.name);
    const changed = (index: number) => !sameCredentials(next[index]!, credentials[index]!);
    for (;;) {
      const conflicts = sharedTokens(names.map((name, index) => ({ name, credentials: next[index]! })));
      let reverted = false;
      for (const { tenant, other } of conflicts) {
        for (const [name, against] of [
          [tenant, other],
          [other, tenant],
        ] as const) {
          const index = names.indexOf(name);
          if (!changed(index)) continue;
          next[index] = credentials[index]!;
          reverted = true;
          refuse(index, sharedTokenMessage(against));
        }
      }
      if (!reverted) break;
    }
    next.forEach((fresh, index) => {
      if (!changed(index)) return;
      credentials[index] = fresh;
      auths[index]!.update(fresh);
    });
    try {
      const fresh = readTls(config);
      if (fresh) (app.server as unknown as TlsServer).setSecureContext(fresh);
    } catch (error) {
      logger.error(
        { err: { message: (error as Error).message } },
        'certificate not reloaded; the previous one stays',
      );
    }
  };
  const tlsFiles = tlsFilesOf(config);
  const watched = [
    ...config.tenants.flatMap((tenant) => tokenFileOf(tenant) ?? []),
    ...(tlsFiles ? [tlsFiles.cert, tlsFiles.key] : []),
  ];
  const onChange = (current: { mtimeMs: number }, previous: { mtimeMs: number }) => {
    if (current.mtimeMs !== previous.mtimeMs) reload();
  };
  for (const file of watched) watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, onChange);

  let closing: Promise<void> | undefined;
  return {
    config,
    tenants,
    app,
    ...(metricsApp && { metricsApp }),
    logger,
    reload,
    close() {
      closing ??= (async () => {
        for (const file of watched) unwatchFile(file, onChange);
        // In-flight requests are answered before the sources and the stores close.
        await Promise.all([app.close(), metricsApp?.close()]);
        await Promise.allSettled(tenants.map((tenant) => tenant.close()));
      })();
      return closing;
    },
  };
}
