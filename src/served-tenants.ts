import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { type Core, type CoreOptions, openCore } from './core/open-core.js';
import {
  configuredCredentials,
  credentialsOf,
  type KeptToken,
  sameCredentials,
  sharedTokenMessage,
  sharedTokens,
} from './credentials.js';
import type { TenantRoutes } from './http/app.js';
import { Authenticator, type Credential } from './http/auth.js';
import { redactorOf } from './logging.js';
import { consentCallback } from './oauth/consent.js';
import { newToken } from './secrets.js';

/** A tenant as served: its core and how its callers authenticate. */
export interface ServedTenant extends Core {
  /** The token callcard generated on this start, when none was configured (first start). */
  readonly generatedToken?: { readonly value: string; readonly keptIn: string; readonly file?: string };
  /** The token file in the data directory, when the token comes from there. */
  readonly tokenFile?: string;
  /** Where the token callcard generated is kept (its file, or the shared store), when it is the tenant's token. */
  readonly tokenKeptIn?: string;
}

export interface ServedTenants {
  readonly tenants: ServedTenant[];
  /** Each tenant's authenticator, by the tenants' order. */
  readonly auths: Authenticator[];
  /** The header sets each tenant accepts now, by the tenants' order. */
  readonly credentials: Credential[][];
  /** Reads a tenant's credentials (again); the tokens read are hidden by the logger's redactor too. */
  readonly read: (tenant: Config['tenants'][number]) => ReturnType<typeof credentialsOf>;
  /** Tokens callcard generated and keeps in a shared store, by tenant: read when the tenant opens. */
  readonly keptTokens: Map<string, KeptToken>;
  /**
   * Reads one tenant's tokens again (from the shared store too, when they are kept there) and
   * accepts them at once; answers whether they changed.
   */
  readonly refresh: (index: number) => Promise<boolean>;
  /** The indexes of the tenants whose generated tokens are kept in a shared store. */
  readonly keptInStore: () => number[];
}

/** How tenants are opened (tests count the opens under way with `open`). */
export interface OpenTuning {
  /** Most tenants opened at once; by default 8, and never more than any of their pools' connections. */
  readonly parallel?: number;
  /** Opens one tenant's core (openCore by default). */
  readonly open?: typeof openCore;
}

interface Opened {
  readonly core: ServedTenant;
  readonly auth: Authenticator;
  readonly credentials: Credential[];
}

/**
 * Tenants opened at once: each open holds one of its pool's connections at a time (a migration,
 * a version read), so no more than the smallest pool's connections are opened at once, leaving none
 * waiting past the pool's connect timeout.
 */
function parallelOpens(config: Readonly<Config>, tuning: OpenTuning): number {
  const pools = config.tenants.flatMap((tenant) =>
    'maxConnections' in tenant.store ? [tenant.store.maxConnections] : [],
  );
  return Math.max(1, Math.min(tuning.parallel ?? 8, ...pools));
}

/** A tenant's settings as compared at a reload: the same text, the same tenant. */
const settingsOf = (tenant: Config['tenants'][number]) => JSON.stringify(tenant);

/**
 * Every tenant's core and credentials; one token never opens two tenants, however each got it.
 * On an error, the cores opened so far are closed.
 *
 * At a reload, `previous` is what is served now: a tenant whose settings are the same keeps its
 * core (its store, sources and syncs go on) and its credentials; the others are opened anew. On an
 * error, only what this call opened is closed: what is served now stays as it was.
 */
export async function openServedTenants(
  config: Readonly<Config>,
  options: CoreOptions,
  logger: Logger,
  previous?: ServedTenants,
  tuning: OpenTuning = {},
): Promise<ServedTenants> {
  const redactor = redactorOf(logger);
  const keptTokens = new Map<string, KeptToken>();
  const kept = new Map(
    (previous?.tenants ?? []).map((core, index) => [
      settingsOf(core.tenant),
      { core, auth: previous!.auths[index]!, credentials: previous!.credentials[index]! },
    ]),
  );
  const read = (tenant: Config['tenants'][number]) => {
    const auth = credentialsOf(tenant, keptTokens.get(tenant.name));
    redactor?.add(auth.credentials.flatMap((set) => Object.values(set)));
    return auth;
  };
  const several = config.tenants.length > 1;
  const slots: (Opened | undefined)[] = config.tenants.map((tenant) => kept.get(settingsOf(tenant)));
  for (const [index, tenant] of config.tenants.entries()) {
    const token = slots[index] && previous!.keptTokens.get(tenant.name);
    if (token) keptTokens.set(tenant.name, token);
  }
  // Tokens are checked before anything is opened: a bad one stops the start at once.
  for (const [index, tenant] of config.tenants.entries()) {
    if (slots[index]) continue;
    try {
      configuredCredentials(tenant);
    } catch (error) {
      throw new Error(`tenant "${tenant.name}": ${(error as Error).message}`);
    }
  }
  const open = async (tenant: Config['tenants'][number]): Promise<Opened> => {
    const configured = configuredCredentials(tenant).length;
    const core = await (tuning.open ?? openCore)(tenant, {
      ...options,
      logger: several ? logger.child({ tenant: tenant.name }) : logger,
    });
    try {
      // Without tokens configured, the one callcard generated; with a shared store, kept there
      // (the first instance makes it, every other one reads it).
      if (configured === 0 && tenant.store.type !== 'sqlite') {
        keptTokens.set(tenant.name, await core.store.secrets.ensure('token', newToken));
      }
      const auth = read(tenant);
      const served: ServedTenant = {
        ...core,
        ...(auth.tokenFile && { tokenFile: auth.tokenFile }),
        ...(auth.keptIn && { tokenKeptIn: auth.keptIn }),
        ...(auth.generatedToken && { generatedToken: auth.generatedToken }),
      };
      return { core: served, auth: new Authenticator(auth.credentials), credentials: auth.credentials };
    } catch (error) {
      await core.close();
      throw error;
    }
  };
  const opened: ServedTenant[] = [];
  try {
    // The new tenants are opened a few at a time (each mostly waits on its store: a schema
    // migrated or its version read); on the first failure no further one starts, and those under
    // way finish before everything this call opened is closed.
    const waiting = config.tenants.flatMap((_tenant, index) => (slots[index] ? [] : [index]));
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      for (let index = waiting.shift(); index !== undefined && !failure; index = waiting.shift()) {
        try {
          const one = await open(config.tenants[index]!);
          slots[index] = one;
          opened.push(one.core);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(parallelOpens(config, tuning), Math.max(waiting.length, 1)) }, worker),
    );
    if (failure) throw failure.error;
  } catch (error) {
    await Promise.allSettled(opened.map((tenant) => tenant.close()));
    throw error;
  }
  const tenants: ServedTenant[] = slots.map((slot) => slot!.core);
  const auths: Authenticator[] = slots.map((slot) => slot!.auth);
  const credentials: Credential[][] = slots.map((slot) => slot!.credentials);
  try {
    const [shared] = sharedTokens(
      config.tenants.map((tenant, i) => ({ name: tenant.name, credentials: credentials[i]! })),
    );
    if (shared) throw new Error(`tenant "${shared.tenant}": ${sharedTokenMessage(shared.other)}`);
  } catch (error) {
    await Promise.allSettled(opened.map((tenant) => tenant.close()));
    throw error;
  }
  const refresh = async (index: number): Promise<boolean> => {
    const tenant = config.tenants[index]!;
    if (keptTokens.has(tenant.name)) {
      keptTokens.set(tenant.name, await tenants[index]!.store.secrets.ensure('token', newToken));
    }
    const fresh = read(tenant).credentials;
    if (sameCredentials(fresh, credentials[index]!)) return false;
    credentials[index] = fresh;
    auths[index]!.update(fresh);
    return true;
  };
  const keptInStore = () =>
    config.tenants.flatMap((tenant, index) => (keptTokens.has(tenant.name) ? [index] : []));
  return { tenants, auths, credentials, read, keptTokens, refresh, keptInStore };
}

/** What the HTTP app serves of each tenant; `lookupOf` gives the lookup the CONNECTOR is answered with. */
export function tenantRoutes(
  { tenants, auths }: ServedTenants,
  lookupOf: (core: Core, index: number) => Core['lookup'],
): TenantRoutes[] {
  return tenants.map((core, index) => ({
    tenant: core.tenant,
    lookup: lookupOf(core, index),
    workflows: core.workflows,
    journal: core.store.calls,
    outbox: core.store.outbox,
    auth: auths[index]!,
    ...(core.connections.names().length > 0 && { oauthCallback: consentCallback(core.connections) }),
  }));
}
