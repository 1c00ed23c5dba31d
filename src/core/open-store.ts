import { resolve } from 'node:path';
import type { Config, Tenant } from '../config/schema.js';
import { readOptionalSecret } from '../config/secret-fields.js';
import { newKey } from '../secrets.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/types.js';

/**
 * The tenant's store as configured: the embedded SQLite files in its data directory, or its schema
 * in a shared PostgreSQL database (migrated by the first instance to open it). A password set
 * apart from the URL is read now: a variable not set or a file not readable is an error at start.
 */
export async function openTenantStore(
  tenant: Readonly<Tenant>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Store> {
  const settings = tenant.store;
  if (settings.type === 'sqlite') return openSqliteStore(tenant.dataDir);
  // Loaded only when used: the embedded store's commands never load the PostgreSQL driver.
  const { openPostgresStore } = await import('../store/postgres/postgres-store.js');
  const password = readOptionalSecret(
    settings,
    'password',
    { baseDir: tenant.baseDir ?? process.cwd(), env },
    'store.',
  );
  return openPostgresStore({
    url: settings.url,
    schema: settings.schema!,
    maxConnections: settings.maxConnections,
    ...(password !== undefined && { password }),
  });
}

/** Where the tenant's data is, for people: its data directory, or its PostgreSQL schema. */
export const storeLocation = (tenant: Readonly<Tenant>): string =>
  tenant.store.type === 'postgres' ? `PostgreSQL, schema ${tenant.store.schema}` : tenant.dataDir;

/**
 * The tenant's own key (call ids, the sealing of OAuth tokens): made at first start and kept in its
 * store, the `secret` file of its data directory or its PostgreSQL schema.
 */
export async function tenantKey(store: Store): Promise<Buffer> {
  return Buffer.from((await store.secrets.ensure('secret', newKey)).value, 'base64url');
}

/**
 * The tenant whose store keeps the partner accounts (every tenant's console): the one on the
 * embedded store in the instance's data directory (a single tenant), else the first on PostgreSQL,
 * whose schema every instance shares (a partner added once signs in on any of them); undefined:
 * the instance's own `admin.db`.
 */
export function partnerTenantIndex(config: Readonly<Config>, cwd: string): number | undefined {
  const instance = resolve(cwd, config.dataDir);
  const here = config.tenants.findIndex(
    (tenant) => tenant.store.type === 'sqlite' && resolve(cwd, tenant.dataDir) === instance,
  );
  if (here !== -1) return here;
  const shared = config.tenants.findIndex((tenant) => tenant.store.type === 'postgres');
  return shared === -1 ? undefined : shared;
}
