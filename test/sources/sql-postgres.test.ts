/**
 * The sql source against the machine's PostgreSQL server, in a schema of its own: the cases every
 * server passes (./sql/server-cases.ts), then PostgreSQL's own.
 */
import { afterAll, beforeAll } from 'vitest';
import { describeWithServer, PG_PORT, type PgSchema, pgSchema, pgUnavailable } from '../support/sql.js';
import { sourceContract } from './contract.js';
import { contactRows, numberRows, valuesOf } from './sql/contract-rows.js';
import { type SqlServer, serverCases, throughRelay } from './sql/server-cases.js';

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

  const postgres: SqlServer = {
    driver: 'postgres',
    label: 'postgres',
    port: PG_PORT,
    space: () => schema,
    table: (name) => `${schema.name}.${name}`,
    types: { key: 'text', text: 'text', time: 'timestamp(3)', flag: 'boolean' },
    updatedAt: 'timestamptz NOT NULL DEFAULT now()',
    flag: (value) => value,
    concat: (a, b) => `${a} || ${b}`,
    series: (rows) => `SELECT g AS id, 'Person ' || g AS name, '+4144' || lpad(g::text, 7, '0') AS phone
                         FROM generate_series(1, ${rows}) g`,
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
  };

  serverCases(postgres);

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
    return throughRelay(
      postgres,
      'live',
      {
        table: { name: view, id: 'id', fullName: 'name', company: 'company', phones: ['phone', 'phone2'] },
        search: { column: 'phone_e164' },
      },
      [`DROP VIEW ${view}`, `DROP TABLE ${numbers}, ${people}`],
    );
  });
});
