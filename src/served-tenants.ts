import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { type Core, type CoreOptions, openCore } from './core/open-core.js';
import { credentialsOf, sharedTokenMessage, sharedTokens } from './credentials.js';
import type { TenantRoutes } from './http/app.js';
import { Authenticator, type Credential } from './http/auth.js';
import { redactorOf } from './logging.js';

/** A tenant as served: its core and how its callers authenticate. */
export interface ServedTenant extends Core {
  /** The token callcard generated on this start, when none was configured (first start). */
  readonly generatedToken?: { readonly value: string; readonly file: string };
  /** The token file in the data directory, when the token comes from there. */
  readonly tokenFile?: string;
}

export interface ServedTenants {
  readonly tenants: ServedTenant[];
  /** Each tenant's authenticator, by the tenants' order. */
  readonly auths: Authenticator[];
  /** The header sets each tenant accepts now, by the tenants' order. */
  readonly credentials: Credential[][];
  /** Reads a tenant's credentials (again); the tokens read are hidden by the logger's redactor too. */
  readonly read: (tenant: Config['tenants'][number]) => ReturnType<typeof credentialsOf>;
}

/**
 * Every tenant's core and credentials; one token never opens two tenants, however each got it.
 * On an error, the cores opened so far are closed.
 */
export async function openServedTenants(
  config: Readonly<Config>,
  options: CoreOptions,
  logger: Logger,
): Promise<ServedTenants> {
  const redactor = redactorOf(logger);
  const read = (tenant: Config['tenants'][number]) => {
    const auth = credentialsOf(tenant);
    redactor?.add(auth.credentials.flatMap((set) => Object.values(set)));
    return auth;
  };
  const tenants: ServedTenant[] = [];
  const auths: Authenticator[] = [];
  const credentials: Credential[][] = [];
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
    const [shared] = sharedTokens(
      config.tenants.map((tenant, i) => ({ name: tenant.name, credentials: credentials[i]! })),
    );
    if (shared) throw new Error(`tenant "${shared.tenant}": ${sharedTokenMessage(shared.other)}`);
  } catch (error) {
    await Promise.allSettled(tenants.map((tenant) => tenant.close()));
    throw error;
  }
  return { tenants, auths, credentials, read };
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
  }));
}
