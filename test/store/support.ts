/**
 * The store contract's two stores: each test gets a fresh, empty one of each kind, the embedded
 * SQLite store in a temp dir and the PostgreSQL store in a schema of its own on the machine's
 * server (dropped after the test; skipped with a message without the server, a failure under CI).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';

export type StoreKind = 'sqlite' | 'postgres';

/** One test's store, and more handles on the same data, as other processes or instances have. */
export interface StoreUnderTest {
  readonly kind: StoreKind;
  /** The store of the test (reopen() replaces it). */
  readonly store: Store;
  /** Another store on the same data: another process on the same files, or another instance. */
  another(): Promise<Store>;
  /** Closes the test's store and opens it again on the same data. */
  reopen(): Promise<Store>;
  /** Unfinished deliveries whose `held` mark disagrees with the order rule: always none. */
  wrongHolds(): Promise<string[]>;
}

const HOLDS = (deliveries: string) => `
  SELECT id FROM ${deliveries} AS d
   WHERE status IN ('pending', 'running') AND (CASE WHEN held THEN 1 ELSE 0 END) <> (CASE WHEN EXISTS (
     SELECT 1 FROM ${deliveries} AS e
      WHERE e.order_key = d.order_key AND e.seq < d.seq AND e.status IN ('pending', 'running')) THEN 1 ELSE 0 END)`;

const unavailable = await pgUnavailable();

/** A PostgreSQL schema name unique to this run of the file, numbered per test. */
const schemaPrefix = uniqueName('cc_store');
let schemas = 0;

/**
 * Runs `body` once per store kind, each test with a fresh store of the kind (`current()`).
 * `kinds` narrows it to some.
 */
export function describeStores(
  name: string,
  body: (current: () => StoreUnderTest) => void,
  kinds: readonly StoreKind[] = ['sqlite', 'postgres'],
): void {
  if (kinds.includes('sqlite')) describe(`${name} (sqlite)`, () => body(useStore('sqlite')));
  if (kinds.includes('postgres')) {
    describeWithServer(`${name} (postgres)`, unavailable, () => body(useStore('postgres')));
  }
}

function useStore(kind: StoreKind): () => StoreUnderTest {
  let current: (StoreUnderTest & { remove(): Promise<void> }) | undefined;
  beforeEach(async () => {
    current = kind === 'sqlite' ? sqliteUnderTest() : await postgresUnderTest();
  });
  afterEach(async () => {
    await current?.remove();
    current = undefined;
  });
  if (kind === 'postgres') afterAll(dropLeftSchemas);
  return () => {
    if (!current) throw new Error('the store is used outside a test');
    return current;
  };
}

function sqliteUnderTest() {
  const dir = tempDir('callcard-store-');
  const stores: Store[] = [];
  const open = () => {
    const store = openSqliteStore(dir.path);
    stores.push(store);
    return store;
  };
  let store = open();
  return {
    kind: 'sqlite' as const,
    get store() {
      return store;
    },
    async another() {
      return open();
    },
    async reopen() {
      await store.close();
      store = open();
      return store;
    },
    async wrongHolds() {
      const db = new Database(join(dir.path, 'calls.db'), { readonly: true });
      try {
        return db
          .prepare<[], { id: string }>(HOLDS('deliveries'))
          .all()
          .map((row) => row.id);
      } finally {
        db.close();
      }
    },
    async remove() {
      for (const one of stores) await one.close();
      dir.remove();
    },
  };
}

/** Settings of a PostgreSQL store in a fresh schema. */
export function postgresSettings(schema = `${schemaPrefix}_${++schemas}`) {
  return { url: pgUrl(), schema };
}

async function postgresUnderTest() {
  const settings = postgresSettings();
  const stores: Store[] = [];
  const open = async () => {
    const store = await openPostgresStore(settings);
    stores.push(store);
    return store;
  };
  let store = await open();
  return {
    kind: 'postgres' as const,
    get store() {
      return store;
    },
    another: open,
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async wrongHolds() {
      const { rows } = await adminQuery<{ id: string }>(HOLDS(`"${settings.schema}".deliveries`));
      return rows.map((row) => row.id);
    },
    async remove() {
      for (const one of stores) await one.close();
      await adminQuery(`DROP SCHEMA IF EXISTS "${settings.schema}" CASCADE`);
    },
  };
}

/** A query as the database's administrator, on a connection of its own. */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: pgUrl() });
  await client.connect();
  try {
    return await client.query<T>(sql, values);
  } finally {
    await client.end();
  }
}

/** Schemas of this run that a failed test left behind. */
async function dropLeftSchemas(): Promise<void> {
  const { rows } = await adminQuery<{ nspname: string }>(
    'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
    [schemaPrefix],
  );
  for (const { nspname } of rows) await adminQuery(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
}
