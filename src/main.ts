import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildApp, buildMetricsApp } from './http/app.js';
import type { Credential } from './http/auth.js';
import type { Readiness } from './http/routes/service.js';
import { createIndexFinder } from './lookup/index-finder.js';
import { createLiveFinder } from './lookup/live.js';
import { type ConfiguredSource, createLookup, type Lookup } from './lookup/lookup.js';
import { createMetrics, measuredLookup } from './metrics/metrics.js';
import { ensureSecretFile, newKey, newToken } from './secrets.js';
import { createSource } from './sources/registry.js';
import type { Source } from './sources/types.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/types.js';
import { createSyncEngine, type MirrorEntry, type SyncEngine } from './sync/engine.js';
import { createAction } from './workflows/actions/registry.js';
import { createOutboxWorker, type OutboxWorker } from './workflows/outbox/worker.js';
import { createWorkflowRegistry, type Workflows } from './workflows/registry.js';
import { type ConfiguredAction, createWorkflow, otherParty } from './workflows/workflow.js';

/** Everything but HTTP: what the CLI commands use. */
export interface Core {
  readonly config: Readonly<Config>;
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

export interface Service extends Core {
  readonly app: FastifyInstance;
  /** Serves /metrics alone when `metrics.port` is set; serve listens on it. */
  readonly metricsApp?: FastifyInstance;
  /** The token callcard generated on this start, when none was configured (first start). */
  readonly generatedToken?: { readonly value: string; readonly file: string };
  /** The token file in the data directory, when the token comes from there. */
  readonly tokenFile?: string;
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

export function createLogger(config: Readonly<Config>): Logger {
  return pino({ level: config.log.level, base: { service: 'callcard' } });
}

type SourceEntry = Readonly<Config>['sources'][number];

/** How a source is read: its own index (embedded), a mirror of it, or asked live. */
function modeOf(entry: SourceEntry, source: Source): 'embedded' | 'mirror' | 'live' {
  if (!source.list && !source.search) return 'embedded';
  const mode = entry.mode ?? (source.list ? 'mirror' : 'live');
  if (mode === 'mirror' && !source.list)
    throw new Error(`source "${entry.name}" cannot list contacts: use mode: live`);
  if (mode === 'live' && !source.search) {
    throw new Error(
      `source "${entry.name}" cannot search numbers: use mode: mirror (or configure its search)`,
    );
  }
  return mode;
}

/** Wiring only: config → store → sources → lookup, workflows and sync. */
export async function openCore(config: Readonly<Config>, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? createLogger(config);
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
    leaseMs: 120_000,
    pollMs: 1000,
    concurrency: config.delivery.concurrency,
    backoff: { baseMs: config.delivery.backoffBaseMs, maxMs: config.delivery.backoffMaxMs, factor: 2 },
    attemptTimeoutMs: 60_000,
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
      const source = await createSource(entry, { logger: logger.child({ source: entry.name }), baseDir });
      opened.push(source);
      const mode = modeOf(entry, source);
      if (mode === 'mirror') {
        mirrors.set(entry.name, {
          source,
          intervalMs: entry.sync.intervalMs,
          fullIntervalMs: entry.sync.fullIntervalMs,
        });
      }
      sources.push({
        name: entry.name,
        mode: mode === 'live' ? 'live' : 'index',
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
    config,
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

/** The tokens accepted: configured ones, or the one kept in the data directory (made on first start). */
function credentialsOf(config: Readonly<Config>): {
  credentials: Credential[];
  tokenFile?: string;
  generatedToken?: { value: string; file: string };
} {
  const { header, tokens, credentials } = config.auth;
  if (tokens.length > 0 || credentials.length > 0) {
    return { credentials: [...tokens.map((token): Credential => ({ [header]: token })), ...credentials] };
  }
  const token = ensureSecretFile(config.dataDir, 'token', newToken);
  return {
    credentials: [{ [header]: token.value }],
    tokenFile: token.file,
    ...(token.created && { generatedToken: { value: token.value, file: token.file } }),
  };
}

/** Ready: the store answers, and every mirrored source has a first good sync to answer from. */
async function readinessOf(core: Core): Promise<Readiness> {
  const checks: { name: string; ok: boolean; detail?: string }[] = [];
  try {
    await core.store.calls.get('readiness');
    checks.push({ name: 'store', ok: true });
  } catch {
    checks.push({ name: 'store', ok: false, detail: 'the store does not answer' });
  }
  for (const name of core.mirrors.keys()) {
    const state = await core.store.contacts.syncState(name).catch(() => undefined);
    checks.push(
      state?.succeededAt !== undefined
        ? { name: `source ${name}`, ok: true }
        : {
            name: `source ${name}`,
            ok: false,
            detail: state?.error ? 'first sync failed' : 'first sync running',
          },
    );
  }
  return { ready: checks.every((check) => check.ok), checks };
}

/** The core and its HTTP app. */
export async function createService(config: Readonly<Config>, options: CoreOptions = {}): Promise<Service> {
  const auth = credentialsOf(config);
  const core = await openCore(config, options);
  const metrics = config.metrics.enabled
    ? createMetrics({
        sources: core.sources,
        mirrors: [...core.mirrors.keys()],
        contacts: core.store.contacts,
        outbox: core.store.outbox,
      })
    : undefined;
  const scrape = metrics && {
    registry: metrics.registry,
    ...(config.metrics.token !== undefined && { token: config.metrics.token }),
  };
  const separate = scrape !== undefined && config.metrics.port !== undefined;
  // Only the CONNECTOR's lookups are measured, not those the workflows make for their actions.
  const app = await buildApp({
    config,
    lookup: metrics ? measuredLookup(core.lookup, metrics) : core.lookup,
    workflows: core.workflows,
    journal: core.store.calls,
    outbox: core.store.outbox,
    credentials: auth.credentials,
    readiness: () => readinessOf(core),
    logger: core.logger,
    ...(scrape && !separate && { metrics: scrape }),
  });
  const metricsApp =
    scrape && separate ? await buildMetricsApp({ ...scrape, logger: core.logger }) : undefined;
  let closing: Promise<void> | undefined;
  return {
    ...core,
    app,
    ...(metricsApp && { metricsApp }),
    ...(auth.tokenFile && { tokenFile: auth.tokenFile }),
    ...(auth.generatedToken && { generatedToken: auth.generatedToken }),
    close() {
      closing ??= (async () => {
        // In-flight requests are answered before the sources and the store close.
        await Promise.all([app.close(), metricsApp?.close()]);
        await core.close();
      })();
      return closing;
    },
  };
}
