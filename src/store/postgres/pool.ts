import { createHash } from 'node:crypto';
import pg from 'pg';

/** How a store reaches its PostgreSQL database, and which schema of it is the tenant's. */
export interface PostgresSettings {
  /** postgres://user@host:5432/db */
  readonly url: string;
  /** Given apart from the URL (from the environment or a file), when the URL holds none. */
  readonly password?: string;
  /** The tenant's schema: every table of the store lives in it. */
  readonly schema: string;
  /** Most connections of the pool shared by the stores with the same URL and password. */
  readonly maxConnections?: number;
  /** How the connections name themselves to the server (`pg_stat_activity`); `callcard` by default. */
  readonly applicationName?: string;
}

interface Shared {
  readonly pool: pg.Pool;
  users: number;
}

const open = new Map<string, Shared>();

/**
 * A handle on the one pool per URL and password: the tenants of an instance whose stores are in the
 * same database share its connections (their schemas keep them apart, not their connections).
 * The pool ends when the last handle is released.
 */
export function sharedPool(settings: PostgresSettings): { pool: pg.Pool; release(): Promise<void> } {
  const key = createHash('sha256')
    .update(JSON.stringify([settings.url, settings.password ?? null, settings.applicationName ?? null]))
    .digest('hex');
  let shared = open.get(key);
  if (!shared) {
    const pool = new pg.Pool({
      connectionString: settings.url,
      ...(settings.password !== undefined && { password: settings.password }),
      max: settings.maxConnections ?? 10,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      application_name: settings.applicationName ?? 'callcard',
    });
    // An idle connection that the server ends (a restart) is dropped from the pool, not thrown.
    pool.on('error', () => {});
    shared = { pool, users: 0 };
    open.set(key, shared);
  }
  const entry = shared;
  entry.users++;
  let released: Promise<void> | undefined;
  return {
    pool: entry.pool,
    release() {
      released ??= (async () => {
        entry.users--;
        if (entry.users > 0) return;
        if (open.get(key) === entry) open.delete(key);
        await entry.pool.end();
      })();
      return released;
    },
  };
}

/** Quotes a name for SQL text (the schema's: it is never a parameter). */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * A connection taken from the pool, and its way back. While it is held, the pool does not listen for
 * its errors: a connection the server ends (a restart) then emits one that nobody hears, and the
 * process would stop. Here it is heard: what runs on the connection fails and says why, and the
 * connection is not given back to the pool.
 */
export async function holdConnection(
  pool: pg.Pool,
): Promise<{ client: pg.PoolClient; release(broken?: boolean): void }> {
  const client = await pool.connect();
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  return {
    client,
    release(broken = false) {
      client.off('error', onError);
      client.release(broken || lost);
    },
  };
}

/** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const { client, release } = await holdConnection(pool);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone: the pool must not hand it out again
    }
    throw error;
  } finally {
    release(broken);
  }
}

/**
 * Takes transaction-scoped advisory locks on `names` (within `scope`), in the order of their lock
 * keys whatever the caller's, so that two transactions taking some of the same never wait for each
 * other in a circle.
 */
export async function lockNames(
  client: pg.ClientBase,
  scope: string,
  names: readonly string[],
): Promise<void> {
  if (names.length === 0) return;
  await client.query(
    `SELECT pg_advisory_xact_lock(k) FROM (
       SELECT DISTINCT hashtextextended($1 || chr(31) || name, 0) AS k FROM unnest($2::text[]) AS name ORDER BY k
     ) AS keys`,
    [scope, [...new Set(names)]],
  );
}
