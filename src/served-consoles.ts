import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { type Config, pathPrefix } from './config/schema.js';
import type { ConsoleOptions } from './console/kit.js';
import { partnerTenantIndex, tenantKey } from './core/open-store.js';
import { importFiles } from './import/importer.js';
import { redactorOf } from './logging.js';
import { createLookupActivity, type LookupActivity } from './metrics/activity.js';
import { tokenRotationOf } from './rotation.js';
import { Redactor, secretsOf } from './secrets.js';
import type { ServedTenants } from './served-tenants.js';
import type { AdminStore } from './store/admin-types.js';
import { openAdminStore } from './store/sqlite/admin-store.js';

export interface ServedConsoles {
  /** Each tenant's console, by the tenants' order. */
  readonly options: Omit<ConsoleOptions, 'tenant'>[];
  /** Each tenant's recent lookups (its console's overview), by the tenants' order. */
  readonly activity: LookupActivity[];
  /** The consoles are on a listener of their own (`admin.port`), not beside the API. */
  readonly apart: boolean;
  close(): Promise<void>;
}

/**
 * Every tenant's web console: its accounts in the tenant's store, partner accounts in the
 * instance's data directory (the same store when one tenant keeps its data there).
 */
export async function openServedConsoles(
  config: Readonly<Config>,
  served: ServedTenants,
  logger: Logger,
  now?: () => number,
  /** At a reload: the recent lookups of the tenants kept, by their core. */
  keptActivity?: ReadonlyMap<object, LookupActivity>,
): Promise<ServedConsoles> {
  const { tenants, credentials } = served;
  // Partner accounts: in the store of the tenant that keeps them (a shared PostgreSQL schema, so
  // that every instance knows them), else in the instance's data directory.
  const keeper = partnerTenantIndex(config, process.cwd());
  const ownPartners = keeper === undefined ? openAdminStore(config.dataDir) : undefined;
  const partnersOf = (index: number): AdminStore | undefined =>
    keeper === index ? undefined : (ownPartners ?? tenants[keeper!]!.store.admin);
  const redactor = redactorOf(logger) ?? new Redactor(secretsOf(config, process.env));
  const paths = config.tenants.map((tenant) => ({
    name: tenant.name,
    path: `${pathPrefix(tenant.basePath)}/admin`,
  }));
  const activity = tenants.map((core) => keptActivity?.get(core) ?? createLookupActivity(now));
  const tokens = config.tenants.map((tenant, index) => tokenRotationOf(tenant, index, served));
  const keys = await Promise.all(tenants.map((core) => tenantKey(core.store)));
  const options = tenants.map((core, index): Omit<ConsoleOptions, 'tenant'> => {
    // Form tokens are bound to the session with a key of the tenant's secret: instances sharing
    // its store accept each other's forms.
    const secret = keys[index]!;
    return {
      accounts: core.store.admin,
      ...(partnersOf(index) && { partners: partnersOf(index)! }),
      lookup: core.lookup,
      sources: core.sources,
      contacts: core.store.contacts,
      journal: core.store.calls,
      outbox: core.store.outbox,
      activity: activity[index]!,
      syncNow: (name, full) => {
        const entry = core.mirrors.get(name);
        // Its outcome is logged and kept in the source's sync state, which the overview shows.
        if (entry) void core.sync.sync(entry, { full }).catch(() => {});
        return entry !== undefined;
      },
      syncUnderway: (name) => core.sync.underway(name),
      importContacts: (file, { source, replace, onEntry, onSkip }) =>
        importFiles(core.store.contacts, {
          source,
          files: [file],
          replace,
          region: core.tenant.region,
          onEntry: (_file, line) => onEntry(line),
          onSkip: (_file, line, reason) => onSkip(line, reason),
        }),
      importSources: core.sources.filter((source) => source.mode === 'embedded').map((source) => source.name),
      credentials: () => credentials[index]!,
      ...(tokens[index] && { tokens: tokens[index] }),
      redact: (text) => redactor.redact(text),
      csrfKey: createHmac('sha256', secret).update('callcard console forms').digest(),
      ...(paths.length > 1 && { tenants: paths }),
      idleTimeoutMs: config.admin.idleTimeoutMs,
      maxSessionMs: config.admin.maxSessionMs,
      ...(now && { now }),
    };
  });
  return {
    options,
    activity,
    apart: config.admin.port !== undefined,
    close: async () => {
      await ownPartners?.close();
    },
  };
}
