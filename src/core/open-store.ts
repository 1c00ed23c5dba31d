import type { Tenant } from '../config/schema.js';
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
