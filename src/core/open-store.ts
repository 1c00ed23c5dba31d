import type { Tenant } from '../config/schema.js';
import { readOptionalSecret } from '../config/secret-fields.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
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
