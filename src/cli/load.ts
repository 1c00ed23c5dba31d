import { loadConfig } from '../config/load.js';
import { type Config, SINGLE_TENANT, type Tenant } from '../config/schema.js';
import { CallcardError } from '../errors.js';

export interface TenantOptions {
  readonly config?: string;
  /** With several tenants, the one a command works on. */
  readonly tenant?: string;
}

/** The config, and the tenant a command works on: the only one, or the one named by --tenant. */
export function loadTenant(options: TenantOptions): { config: Readonly<Config>; tenant: Readonly<Tenant> } {
  const config = loadConfig(options.config !== undefined ? { file: options.config } : {});
  const names = config.tenants.map((tenant) => tenant.name);
  const wanted = options.tenant ?? (config.tenants.length === 1 ? config.tenants[0]!.name : undefined);
  const tenant = config.tenants.find((entry) => entry.name.toLowerCase() === wanted?.toLowerCase());
  if (!tenant) {
    const listed = names.filter((name) => name !== SINGLE_TENANT).join(', ');
    throw new CallcardError(
      'INVALID_INPUT',
      wanted === undefined
        ? `several tenants are configured: name one with --tenant (${listed})`
        : `no tenant named "${wanted}"${listed ? ` (tenants: ${listed})` : ''}`,
    );
  }
  return { config, tenant };
}
