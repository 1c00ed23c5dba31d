/**
 * The sql source against the machine's PostgreSQL server, in a schema of its own.
 * A source that must lose its server talks to it through a TCP relay, which `down()` closes.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { listingContract, sourceContract } from './contract.js';
import { cancellationCases } from './sql/cancellation-cases.js';
import { contactRows, numberRows, valuesOf } from './sql/contract-rows.js';
import { mirrorCases } from './sql/mirror-cases.js';
import {
  describeWithServer,
  PG_PORT,
  type PgSchema,
  pgSchema,
  pgUnavailable,
  pgUrl,
  relay,
  sqlSource,
} from './sql/support.js';

const unavailable = await pgUnavailable();

describeWithServer('sql source: PostgreSQL', unavailable, () => {
  let schema: PgSchema;
  let n = 0;
  beforeAll(async () => {
    schema = await pgSchema('cc_sql_pg');
  });
  afterAll(async () => {
    await schema?.drop();
  });

  // A contacts table read with a mapping; its soft-delete flag is a real boolean.
  sourceContract('postgres, table mapping, mirror', async (contacts) => {
    const table = `${schema.name}.contacts_${++n}`;
    await schema.exec(
      `CREATE TABLE ${table} (id text PRIMARY KEY, name text, company text, phone text, phone2 text,
        updated_at timestamptz NOT NULL DEFAULT now(), deleted boolean NOT NULL DEFAULT false)`,
    );
    const rows = valuesOf(contactRows(contacts));
    await schema.exec(
      `INSERT INTO ${table} (id, name, company, phone, phone2) VALUES ${rows.sql}`,
      rows.params,
    );
    const cut = await relay(PG_PORT);
    const source = sqlSource({
      driver: 'postgres',
      url: pgUrl(cut.port),
      table: {
        name: table,
        id: 'id',
        fullName: 'name',
        company: 'company',
        phones: ['phone', 'phone2'],
        updatedAt: 'updated_at',
        deleted: 'deleted',
      },
    });
    return {
      source,
      mode: 'mirror',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await schema.exec(`DROP TABLE ${table}`);
      },
    };
  });

  // Live: numbers kept once more in E.164 in an indexed column of their own table, one row per
  // number, joined to the contacts by a view that the mapping reads.
  sourceContract('postgres, indexed E.164 column, live', async (contacts) => {
    const id = ++n;
    const people = `${schema.name}.people_${id}`;
    const numbers = `${schema.name}.numbers_${id}`;
    const view = `${schema.name}.phonebook_${id}`;
    await schema.exec(
      `CREATE TABLE ${people} (id text PRIMARY KEY, name text, company text, phone text, phone2 text)`,
    );
    await schema.exec(
      `CREATE TABLE ${numbers} (contact_id text NOT NULL REFERENCES ${people}, phone_e164 text NOT NULL)`,
    );
    await schema.exec(`CREATE INDEX ON ${numbers} (phone_e164)`);
    await schema.exec(
      `CREATE VIEW ${view} AS SELECT p.*, k.phone_e164 FROM ${people} p JOIN ${numbers} k ON k.contact_id = p.id`,
    );
    const rows = valuesOf(contactRows(contacts));
    await schema.exec(`INSERT INTO ${people} VALUES ${rows.sql}`, rows.params);
    const keys = valuesOf(numberRows(contacts));
    await schema.exec(`INSERT INTO ${numbers} VALUES ${keys.sql}`, keys.params);
    const cut = await relay(PG_PORT);
    const source = sqlSource({
      driver: 'postgres',
      url: pgUrl(cut.port),
      table: { name: view, id: 'id', fullName: 'name', company: 'company', phones: ['phone', 'phone2'] },
      search: { column: 'phone_e164' },
    });
    return {
      source,
      mode: 'live',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await schema.exec(`DROP VIEW ${view}`);
        await schema.exec(`DROP TABLE ${numbers}, ${people}`);
      },
    };
  });

  describe('table mapping', () => {
    mirrorCases(() => ({
      driver: 'postgres',
      connection: { url: pgUrl() },
      table: (name) => `${schema.name}.${name}`,
      exec: (sql, params) => schema.exec(sql, params),
      count: async (table) =>
        Number((await schema.rows<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n),
      types: { key: 'text', text: 'text', time: 'timestamp(3)', flag: 'boolean' },
      flag: (value) => value,
      concat: (a, b) => `${a} || ${b}`,
    }));
  });

  describe('cancellation', () => {
    cancellationCases(() => ({
      driver: 'postgres',
      url: pgUrl(),
      table: (name) => `${schema.name}.${name}_${++n}`,
      exec: (sql, params) => schema.exec(sql, params),
      slowSearch: (table, slow) =>
        `SELECT t.id, t.name, t.phone FROM ${table} t, pg_sleep(CASE WHEN ${slow} THEN 60 ELSE 0 END)
          WHERE t.phone_key = :e164 LIMIT :limit`,
      running: async (table) =>
        (
          await schema.rows<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
              WHERE state = 'active' AND position(? in query) > 0 AND pid <> pg_backend_pid()`,
            [table],
          )
        ).map((row) => row.pid),
      cancel: (table) =>
        schema.exec(
          `SELECT pg_cancel_backend(pid) FROM pg_stat_activity
            WHERE position(? in query) > 0 AND pid <> pg_backend_pid()`,
          [table],
        ),
    }));
  });

  // Many rows, made by the server, read in small batches.
  listingContract('postgres, 50 000 rows in batches of 100', async () => {
    const cut = await relay(PG_PORT);
    const query = `SELECT g AS id, 'Person ' || g AS name, '+4144' || lpad(g::text, 7, '0') AS phone
                     FROM generate_series(1, 50000) g`;
    return {
      source: sqlSource({ driver: 'postgres', url: pgUrl(cut.port), query, batchSize: 100 }),
      rows: 50_000,
      down: () => cut.close(),
      teardown: () => cut.close(),
    };
  });
});
