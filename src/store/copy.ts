import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { ident } from './postgres/pool.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { ensurePrivateDir, privateFile, readSecretFile } from './private-files.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

/**
 * Copies one store into the other, table by table: an embedded data directory into a PostgreSQL
 * schema (moving in) or back (leaving). Both stores have the same tables (the console's are named
 * `admin_*` in PostgreSQL); each one is replaced in the
 * target in one transaction, so that a copy run twice gives the same result and a copy cut off
 * half-way is completed by running it again. Rows keep their keys (the contacts' and deliveries'
 * sequence numbers too), so the outbox keeps its order and the index its links.
 */

/** A row as both stores agree on it: JSON columns parsed, flags as booleans, numbers as numbers. */
type Row = Record<string, unknown>;

interface Table {
  /** Its name in SQLite, and in reports. */
  readonly name: string;
  /** Its name in PostgreSQL, when not the same. */
  readonly pg?: string;
  /** The SQLite file it is in. */
  readonly file: 'contacts.db' | 'calls.db' | 'credentials.db' | 'admin.db';
  readonly columns: readonly string[];
  /** JSON in PostgreSQL (jsonb), text in SQLite. */
  readonly json?: readonly string[];
  /** boolean in PostgreSQL, 0 or 1 in SQLite. */
  readonly flags?: readonly string[];
  /** A PostgreSQL identity column, whose sequence is moved past the copied values. */
  readonly identity?: string;
}

const TABLES: readonly Table[] = [
  { name: 'sources', file: 'contacts.db', columns: ['id', 'name'], identity: 'id' },
  {
    name: 'contacts',
    file: 'contacts.db',
    columns: [
      'seq',
      'source',
      'id',
      'name',
      'company',
      'contact_uri',
      'company_uri',
      'custom_data',
      'phones',
      'updated_at',
    ],
    json: ['phones'],
    identity: 'seq',
  },
  { name: 'phone_keys', file: 'contacts.db', columns: ['key', 'source', 'contact', 'position'] },
  { name: 'sync_state', file: 'contacts.db', columns: ['source', 'state'] },
  {
    name: 'calls',
    file: 'calls.db',
    columns: [
      'id',
      'workflow',
      'direction',
      'status',
      'contact_crm_id',
      'user_crm_id',
      'originator_number',
      'originator_name',
      'destination_number',
      'destination_name',
      'started_time',
      'answered_time',
      'ended_time',
      'declined_time',
      'duration_seconds',
      'inputs',
      'received_count',
      'created_at',
      'updated_at',
      'started_at',
      'answer_id',
    ],
    json: ['inputs'],
  },
  {
    name: 'deliveries',
    file: 'calls.db',
    columns: [
      'seq',
      'id',
      'workflow',
      'call_id',
      'action',
      'action_type',
      'order_key',
      'payload',
      'status',
      'attempts',
      'max_attempts',
      'next_at',
      'held',
      'locked_by',
      'locked_until',
      'last_error',
      'result_id',
      'result_url',
      'update_of',
      'version',
      'created_at',
      'updated_at',
    ],
    flags: ['held'],
    identity: 'seq',
  },
  {
    name: 'connections',
    file: 'credentials.db',
    columns: ['name', 'sealed', 'consent_needed', 'updated_at', 'lease_holder', 'lease_until'],
  },
  {
    name: 'pending_consents',
    file: 'credentials.db',
    columns: ['state', 'connection', 'sealed', 'expires_at'],
  },
  // The console: its accounts, their sessions (signed-in browsers stay signed in) and the audit log.
  {
    name: 'accounts',
    pg: 'admin_accounts',
    file: 'admin.db',
    columns: ['name', 'role', 'tenant', 'password_hash', 'must_change', 'password_at', 'created_at'],
    flags: ['must_change'],
  },
  {
    name: 'sessions',
    pg: 'admin_sessions',
    file: 'admin.db',
    columns: ['id_hash', 'account', 'created_at', 'seen_at'],
  },
  {
    name: 'audit',
    pg: 'admin_audit',
    file: 'admin.db',
    columns: ['seq', 'at', 'actor', 'action', 'subject', 'address'],
    identity: 'seq',
  },
];

/** What callcard generates for itself: the access token and the key of call ids and OAuth tokens. */
const SECRETS = ['token', 'secret'] as const;

const BATCH = 2000;

/** One side of a copy. */
interface End {
  read(table: Table): AsyncIterable<Row[]>;
  /** Replaces the table's rows with `batches`, all at once. */
  replace(table: Table, batches: AsyncIterable<Row[]>): Promise<number>;
  readSecrets(): Promise<Map<string, string>>;
  writeSecrets(values: ReadonlyMap<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresTarget {
  readonly url: string;
  readonly schema: string;
  readonly password?: string;
}

export type StoreLocation = { readonly dataDir: string } | { readonly postgres: PostgresTarget };

export interface CopyReport {
  /** Rows copied, by table. */
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  /** Names of the secrets copied (never their values). */
  readonly secrets: readonly string[];
}

export interface CopyOptions {
  /** Called after each table is copied (progress; a test cuts the copy off here). */
  readonly onTable?: (name: string, rows: number) => void;
}

/** Copies every table and the generated secrets of `from` into `to`, replacing what `to` had. */
export async function copyStore(
  from: StoreLocation,
  to: StoreLocation,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const source = await openEnd(from);
  try {
    const target = await openEnd(to);
    try {
      const tables: { name: string; rows: number }[] = [];
      for (const table of TABLES) {
        const rows = await target.replace(table, source.read(table));
        tables.push({ name: table.name, rows });
        options.onTable?.(table.name, rows);
      }
      const secrets = await source.readSecrets();
      await target.writeSecrets(secrets);
      return { tables, secrets: [...secrets.keys()] };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

async function openEnd(location: StoreLocation): Promise<End> {
  // Opened once as the service opens it: the files or the schema are made and brought up to date.
  if ('dataDir' in location) {
    await openSqliteStore(location.dataDir).close();
    return sqliteEnd(location.dataDir);
  }
  await (await openPostgresStore(location.postgres)).close();
  return postgresEnd(location.postgres);
}

function sqliteEnd(dataDir: string): End {
  const databases = new Map<Table['file'], Database.Database>();
  const db = (file: Table['file']) => {
    let open = databases.get(file);
    if (!open) {
      const path = join(dataDir, file);
      privateFile(path);
      open = new Database(path);
      open.pragma('busy_timeout = 5000');
      databases.set(file, open);
    }
    return open;
  };
  return {
    async *read(table) {
      const rows = db(table.file)
        .prepare<[], Row>(`SELECT ${table.columns.join(', ')} FROM ${table.name}`)
        .iterate();
      let batch: Row[] = [];
      for (const row of rows) {
        for (const column of table.json ?? []) {
          if (typeof row[column] === 'string') row[column] = JSON.parse(row[column]);
        }
        for (const column of table.flags ?? []) row[column] = row[column] === 1;
        batch.push(row);
        if (batch.length === BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
    async replace(table, batches) {
      const target = db(table.file);
      const insert = target.prepare(
        `INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES (${table.columns.map((c) => `@${c}`).join(', ')})`,
      );
      let count = 0;
      target.exec('BEGIN IMMEDIATE');
      try {
        target.exec(`DELETE FROM ${table.name}`);
        for await (const batch of batches) {
          for (const row of batch) {
            const values: Row = { ...row };
            for (const column of table.json ?? []) values[column] = JSON.stringify(row[column]);
            for (const column of table.flags ?? []) values[column] = row[column] ? 1 : 0;
            insert.run(values);
          }
          count += batch.length;
        }
        target.exec('COMMIT');
      } catch (error) {
        target.exec('ROLLBACK');
        throw error;
      }
      return count;
    },
    async readSecrets() {
      const values = new Map<string, string>();
      for (const name of SECRETS) {
        const value = readSecretFile(dataDir, name);
        if (value) values.set(name, value);
      }
      return values;
    },
    async writeSecrets(values) {
      ensurePrivateDir(dataDir);
      for (const [name, value] of values) {
        const file = join(dataDir, name);
        privateFile(file);
        writeFileSync(file, `${value}\n`, { mode: 0o600 });
      }
    },
    async close() {
      for (const open of databases.values()) open.close();
    },
  };
}

function postgresEnd(settings: PostgresTarget): End {
  const s = ident(settings.schema);
  const connect = async () => {
    const client = new pg.Client({
      connectionString: settings.url,
      ...(settings.password !== undefined && { password: settings.password }),
      application_name: 'callcard store migrate',
    });
    // A connection the server ends fails what runs on it, not the process.
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  return {
    async *read(table) {
      const client = await connect();
      try {
        // row_to_json: bigints as numbers, jsonb parsed, booleans as booleans.
        const stream = client.query(
          new QueryStream(
            `SELECT row_to_json(t)::text AS row FROM ${s}.${ident(table.pg ?? table.name)} AS t`,
            [],
            {
              batchSize: BATCH,
            },
          ),
        );
        let batch: Row[] = [];
        for await (const { row } of stream as AsyncIterable<{ row: string }>) {
          const parsed = JSON.parse(row) as Row;
          batch.push(Object.fromEntries(table.columns.map((column) => [column, parsed[column] ?? null])));
          if (batch.length === BATCH) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      } finally {
        await client.end();
      }
    },
    async replace(table, batches) {
      const client = await connect();
      const name = `${s}.${ident(table.pg ?? table.name)}`;
      const columns = table.columns.map(ident).join(', ');
      let count = 0;
      try {
        await client.query('BEGIN');
        await client.query(`DELETE FROM ${name}`);
        for await (const batch of batches) {
          await client.query(
            `INSERT INTO ${name} (${columns}) ${table.identity ? 'OVERRIDING SYSTEM VALUE' : ''}
             SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`,
            [JSON.stringify(batch)],
          );
          count += batch.length;
        }
        if (table.identity) {
          // The next row the store adds gets a number after the copied ones.
          await client.query(
            `SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(${ident(table.identity)}), 0) + 1, false)
               FROM ${name}`,
            [name, table.identity],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        await client.end();
      }
      return count;
    },
    async readSecrets() {
      const client = await connect();
      try {
        const { rows } = await client.query<{ name: string; value: string }>(
          `SELECT name, value FROM ${s}.secrets WHERE name = ANY($1)`,
          [SECRETS],
        );
        return new Map(rows.map((row) => [row.name, row.value]));
      } finally {
        await client.end();
      }
    },
    async writeSecrets(values) {
      const client = await connect();
      try {
        for (const [name, value] of values) {
          await client.query(
            `INSERT INTO ${s}.secrets (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
            [name, value],
          );
        }
      } finally {
        await client.end();
      }
    },
    async close() {},
  };
}
