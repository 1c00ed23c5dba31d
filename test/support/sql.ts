/**
 * Shared pieces of the sql source tests: the real PostgreSQL and MariaDB servers of the machine
 * (skipped with a message when absent, a failure under CI), the CRMs' tables, a TCP relay that can
 * cut a source off its server, and one way to build a source and to sync it the way the core does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import pino from 'pino';
import { describe, it } from 'vitest';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { numberForms } from '../../src/lookup/forms.js';
import { createSqlSource, type SqlSourceConfig, sqlSourceSchema } from '../../src/sources/sql/sql-source.js';
import type { SearchQuery, Source } from '../../src/sources/types.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine, type SyncReport } from '../../src/sync/engine.js';
import { inCI } from './helper.js';

export const PG_HOST = process.env['CALLCARD_TEST_PG_HOST'] ?? '127.0.0.1';
export const PG_PORT = Number(process.env['CALLCARD_TEST_PG_PORT'] ?? 5432);
export const PG_USER = process.env['CALLCARD_TEST_PG_USER'] ?? 'postgres';
export const PG_DB = process.env['CALLCARD_TEST_PG_DB'] ?? 'test';
export const MY_HOST = process.env['CALLCARD_TEST_MYSQL_HOST'] ?? '127.0.0.1';
export const MY_PORT = Number(process.env['CALLCARD_TEST_MYSQL_PORT'] ?? 3306);
export const MY_USER = process.env['CALLCARD_TEST_MYSQL_USER'] ?? 'root';

export const pgUrl = (port = PG_PORT, db = PG_DB) => `postgres://${PG_USER}@${PG_HOST}:${port}/${db}`;
export const mysqlUrl = (db: string, port = MY_PORT, user = MY_USER) =>
  `mysql://${encodeURIComponent(user)}@${MY_HOST}:${port}/${db}`;

/** The SQL of a CRM's tables as the CRM creates them: test/fixtures/sql/`name`.sql. */
export const sqlFixture = (name: string) =>
  readFileSync(new URL(`../fixtures/sql/${name}.sql`, import.meta.url), 'utf8');

/** A name no other test file, nor another run of this one, uses at the same time. */
export const uniqueName = (prefix: string) =>
  `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

export const logger = pino({ level: 'silent' });
export const never = () => new AbortController().signal;

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export async function pgUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: pgUrl(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${PG_HOST}:${PG_PORT}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why MariaDB/MySQL cannot be used, or undefined when it answers. */
export async function mysqlUnavailable(): Promise<string | undefined> {
  try {
    const connection = await mysql.createConnection({
      host: MY_HOST,
      port: MY_PORT,
      user: MY_USER,
      connectTimeout: 3000,
    });
    await connection.query('SELECT 1');
    await connection.end();
    return undefined;
  } catch (error) {
    return `MariaDB at ${MY_HOST}:${MY_PORT}: ${(error as Error).message}`;
  }
}

/**
 * A describe block that needs a server: skipped with a message when the server is unreachable,
 * and a failing test in its place under CI, where the server must be there.
 */
export function describeWithServer(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
  } else if (inCI) {
    describe(name, () => {
      it('has its server', () => {
        throw new Error(`${unavailable} (required under CI=true)`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${unavailable}`);
    describe.skip(name, body);
  }
}

/** Admin access to the MariaDB server, in a database of its own, dropped by `drop()`. */
export async function mysqlDatabase(prefix: string) {
  const name = uniqueName(prefix);
  const admin = await mysql.createConnection({
    host: MY_HOST,
    port: MY_PORT,
    user: MY_USER,
    multipleStatements: true,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${name}\``);
  return {
    name,
    url: (port = MY_PORT) => mysqlUrl(name, port),
    admin,
    async exec(sql: string, params: unknown[] = []): Promise<void> {
      await admin.query(sql, params);
    },
    async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [rows] = await admin.query(sql, params);
      return rows as T[];
    },
    async drop(): Promise<void> {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}
export type MysqlDatabase = Awaited<ReturnType<typeof mysqlDatabase>>;

/** Admin access to the PostgreSQL server, in a schema of its own, dropped by `drop()`. */
export async function pgSchema(prefix: string) {
  const name = uniqueName(prefix);
  const admin = new pg.Pool({ connectionString: pgUrl(), max: 2 });
  await admin.query(`CREATE SCHEMA "${name}"`);
  return {
    name,
    url: (port = PG_PORT) => pgUrl(port),
    admin,
    /** Runs SQL written with `?` placeholders. */
    async exec(sql: string, params: unknown[] = []): Promise<void> {
      let n = 0;
      await admin.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      let n = 0;
      const result = await admin.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
      return result.rows as T[];
    },
    async drop(): Promise<void> {
      await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      await admin.end();
    },
  };
}
export type PgSchema = Awaited<ReturnType<typeof pgSchema>>;

/**
 * A TCP relay in front of a server (a database, a directory, a CardDAV server). A source connected
 * through it loses its server on `drop()`, which cuts the open connections and keeps listening (as
 * an idle timeout or a restart does), or on `close()`, which also stops listening: new connections
 * are refused, as when the server stops or the network goes.
 */
export interface Relay {
  readonly port: number;
  drop(): void;
  close(): Promise<void>;
}

export async function relay(targetPort: number, targetHost = '127.0.0.1'): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const drop = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    drop,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        drop();
      });
      return closed;
    },
  };
}

/** A source from the config as a user writes it, read through the real schema (defaults, checks). */
export function sqlSource(
  config: Record<string, unknown>,
  options: { name?: string; timeoutMs?: number; baseDir?: string } = {},
): Source {
  const parsed = sqlSourceSchema.parse({ type: 'sql', ...config });
  const full: SqlSourceConfig = {
    ...parsed,
    name: options.name ?? 'crm',
    timeoutMs: options.timeoutMs ?? 1500,
  };
  return createSqlSource(full, { logger, baseDir: options.baseDir ?? process.cwd() });
}

/** Syncs a mirrored source into `store` the way the service does. */
export function syncer(store: Store, source: Source) {
  const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger, workers: 0 });
  const entry = { source, intervalMs: 60_000, fullIntervalMs: 3_600_000 };
  return {
    sync: (options: { full?: boolean } = {}): Promise<SyncReport> => engine.sync(entry, options),
    /** Ids of the mirrored contacts with this number (an incoming key, e.g. `+41791234567`). */
    async ids(key: string): Promise<string[]> {
      return (await store.contacts.findByKey(source.name, key, 10)).map((m) => m.id).sort();
    },
    async find(key: string) {
      return store.contacts.findByKey(source.name, key, 10);
    },
  };
}

/** What the core asks a live source for this key. */
export const searchQuery = (key: string, limit = 5): SearchQuery => ({
  key,
  forms: numberForms(key),
  region: 'CH',
  limit,
});

/** All contacts a source lists (a full listing, or changes since a time). */
export async function listAll(source: Source, since?: number): Promise<RawContact[]> {
  const out: RawContact[] = [];
  for await (const batch of source.list!({ signal: never(), ...(since !== undefined && { since }) }))
    out.push(...batch);
  return out;
}

/** "YYYY-MM-DD HH:MM:SS" for a DATETIME/TIMESTAMP column, in UTC. */
export const sqlDateTime = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
