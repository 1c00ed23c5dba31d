import pino, { type Logger } from 'pino';
import { SINGLE_TENANT, type Tenant } from '../config/schema.js';
import { createIndexFinder } from '../lookup/index-finder.js';
import { createLiveFinder } from '../lookup/live.js';
import { type ConfiguredSource, createLookup, type Lookup } from '../lookup/lookup.js';
import { type Connections, createConnections } from '../oauth/connections.js';
import { createSealer } from '../oauth/sealing.js';
import { openSource } from '../sources/registry.js';
import type { Source } from '../sources/types.js';
import type { Store } from '../store/types.js';
import { createSyncEngine, type MirrorEntry, type SyncEngine } from '../sync/engine.js';
import { createAction } from '../workflows/actions/registry.js';
import { attemptTimeout } from '../workflows/config.js';
import { outboxInstance } from '../workflows/outbox/instance.js';
import { createOutboxWorker, type OutboxWorker } from '../workflows/outbox/worker.js';
import { createWorkflowRegistry, type Workflows } from '../workflows/registry.js';
import { type ConfiguredAction, createWorkflow, otherParty } from '../workflows/workflow.js';
import { openTenantStore, tenantKey } from './open-store.js';

/**
 * The answers of a shared store kept by each instance for when the store does not answer: the last
 * answer for each of the 10,000 numbers looked up most recently, per source, for up to an hour.
 */
const STORE_FALLBACK = { max: 10_000, maxAgeMs: 3_600_000 } as const;

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
  /** The OAuth connections of its sources and actions. */
  readonly connections: Connections;
  readonly logger: Logger;
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
  /** How a process waiting for another's token refresh reads the store again (tests). */
  readonly oauth?: {
    readonly waitMs?: number;
    readonly onWait?: (connection: string) => void;
    /** The clock tokens expire by. */
    readonly now?: () => number;
  };
}

/** Wiring only, for one tenant: config → store → sources → lookup, workflows and sync. */
export async function openCore(config: Readonly<Tenant>, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? pino({ level: 'info', base: { service: 'callcard' } });
  const store = await openTenantStore(config);
  // The tenant's key (of call ids, and of the OAuth tokens' sealing): kept with the data, so that
  // every instance on a shared store gives a call the same id and opens the same tokens.
  let secret: Buffer;
  try {
    secret = await tenantKey(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  // OAuth connections' tokens are sealed with a key derived from the tenant's secret.
  const connections = createConnections({
    store: store.credentials,
    sealer: createSealer(secret),
    logger: logger.child({ part: 'oauth' }),
    ...(config.name !== SINGLE_TENANT && { tenant: config.name }),
    ...options.oauth,
  });
  const baseDir = config.baseDir ?? process.cwd();

  // Workflows by name: CallFlow always (the journal), then those configured; names match in any case.
  const settings = new Map<
    string,
    { name: string; sources?: readonly string[]; actions: ConfiguredAction[] }
  >();
  settings.set('callflow', { name: 'CallFlow', actions: [] });
  for (const [name, workflow] of Object.entries(config.workflows)) {
    const actions: ConfiguredAction[] = [];
    for (const action of workflow.actions) actions.push(await createAction(action, { baseDir, connections }));
    const key = name.toLowerCase();
    settings.set(key, {
      name: settings.get(key)?.name ?? name,
      ...(workflow.sources && { sources: workflow.sources }),
      actions,
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
    // An embedded store's data directory is one instance's: at start it takes back the leases of its
    // earlier runs. A shared store's leases are never taken back early (they may be another
    // instance's, alive): they run out.
    ...(config.store.type === 'sqlite' && { instance: outboxInstance(config.dataDir) }),
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
        intake: store.intake,
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
        connections,
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
            : createIndexFinder(
                store.contacts,
                entry.name,
                // A shared store may restart or fail over: its recent answers stand in meanwhile.
                config.store.type === 'postgres'
                  ? { ...STORE_FALLBACK, afterMs: Math.min(entry.timeoutMs, config.lookup.deadlineMs) / 2 }
                  : undefined,
              ),
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
  // Without workflows nothing is ever delivered: no worker asks the outbox every poll (with many
  // tenants on one database, those polls alone would take its connections).
  if (options.startDelivery && Object.keys(config.workflows).length > 0) delivery.start();
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
    connections,
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
