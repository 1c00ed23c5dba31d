import { createHash } from 'node:crypto';
import {
  type ConnectOptions,
  connectMysql,
  connectPostgres,
  connectSqlite,
  type SqlClient,
} from './clients.js';

export type Driver = 'postgres' | 'mysql' | 'sqlite';

interface Shared {
  readonly client: SqlClient;
  users: number;
}

const open = new Map<string, Shared>();

/**
 * The key of a pool: a hash of the settings that make a connection (the password included, so
 * two users with different passwords never share, and no password is kept in the key).
 * SQLite's lock wait is part of its handle.
 */
function keyOf(driver: Driver, options: ConnectOptions): string {
  const parts: (string | number | null)[] = [
    driver,
    options.url ?? null,
    options.file ?? null,
    options.password ?? null,
  ];
  if (driver === 'sqlite') parts.push(options.statementTimeoutMs);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * A client of the one pool per connection settings: sql sources and sql actions that reach the
 * same database with the same settings share its connections. Each caller gets its own handle;
 * the pool closes when the last handle does. A closed handle refuses new queries; closing it
 * again is safe.
 */
export function sharedClient(driver: Driver, options: ConnectOptions): SqlClient {
  const key = keyOf(driver, options);
  let shared = open.get(key);
  if (!shared) {
    const connect =
      driver === 'postgres' ? connectPostgres : driver === 'mysql' ? connectMysql : connectSqlite;
    shared = { client: connect(options), users: 0 };
    open.set(key, shared);
  }
  const { client } = shared;
  const entry = shared;
  entry.users++;
  let closed: Promise<void> | undefined;
  const refuse = () => new Error('the database client is closed');
  return {
    quote: client.quote,
    alias: client.alias,
    query(sql, values, signal) {
      if (closed) return Promise.reject(refuse());
      return client.query(sql, values, signal);
    },
    stream(sql, values, signal, batch) {
      if (closed) throw refuse();
      return client.stream(sql, values, signal, batch);
    },
    close() {
      closed ??= (async () => {
        entry.users--;
        if (entry.users > 0) return;
        if (open.get(key) === entry) open.delete(key);
        await client.close();
      })();
      return closed;
    },
  };
}
