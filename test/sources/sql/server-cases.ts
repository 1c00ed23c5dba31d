/**
 * What the sql source tests of the drivers that talk to a server (PostgreSQL, MariaDB) have in
 * common, written once: the source contract on a mapped contacts table, the table mapping's cases,
 * the cancellation cases and the listing contract on rows the server makes. Each server's test file
 * describes its server as a `SqlServer`, runs `serverCases`, then adds the cases of its own driver.
 * A source that must lose its server talks to it through a TCP relay, which `down()` closes.
 */
import { describe } from 'vitest';
import type { RawContact } from '../../../src/contacts/raw-contact.js';
import { relay, sqlSource } from '../../support/sql.js';
import { type ContractSetup, listingContract, sourceContract } from '../contract.js';
import { cancellationCases, type ServerBackend } from './cancellation-cases.js';
import { contactRows, contactsMapping, valuesOf } from './contract-rows.js';
import { type Backend, mirrorCases } from './mirror-cases.js';

/** The test's own space on a server: a schema (`pgSchema`) or a database (`mysqlDatabase`). */
export interface ServerSpace {
  /** The URL a source reaches it by, through the server's own port or another (a relay's). */
  url(port?: number): string;
  /** Runs SQL written with `?` placeholders. */
  exec(sql: string, params?: unknown[]): Promise<void>;
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A database server, described by what differs from one driver to another. */
export interface SqlServer
  extends Pick<Backend, 'types' | 'flag' | 'concat'>,
    Pick<ServerBackend, 'slowSearch' | 'running' | 'cancel'> {
  readonly driver: 'postgres' | 'mysql';
  /** The server's name in the titles of the contracts. */
  readonly label: string;
  readonly port: number;
  /** The test's space, made before the cases run (in a `beforeAll` of the test file). */
  space(): ServerSpace;
  /** The name a table is created and mapped under (qualified with the test's schema if needed). */
  table(name: string): string;
  /** The definition of a column holding the time a row was written, which the server sets itself. */
  readonly updatedAt: string;
  /** A query of `rows` people the server makes up: id, name, phone. */
  series(rows: number): string;
}

// Tables of the cases below, numbered across the whole test file so that no two share a name.
let tables = 0;
const numbered = (name: string) => `${name}_${++tables}`;

/**
 * A new table of the contract's contacts, with a time of change and a soft-delete flag: id, name,
 * company, phone, phone2, updated_at, deleted.
 */
export async function contactsTable(server: SqlServer, contacts: readonly RawContact[]): Promise<string> {
  const table = server.table(numbered('contacts'));
  const { key, text, flag } = server.types;
  await server.space().exec(
    `CREATE TABLE ${table} (id ${key} PRIMARY KEY, name ${text}, company ${text}, phone ${text}, phone2 ${text},
        updated_at ${server.updatedAt}, deleted ${flag} NOT NULL DEFAULT ${server.flag(false)})`,
  );
  const rows = valuesOf(contactRows(contacts));
  await server
    .space()
    .exec(`INSERT INTO ${table} (id, name, company, phone, phone2) VALUES ${rows.sql}`, rows.params);
  return table;
}

/**
 * A contract setup: a source of the server, configured with `config` besides its driver and URL,
 * reached through a relay that `down()` closes. `drop` is the SQL that removes what the setup made.
 */
export async function throughRelay(
  server: SqlServer,
  mode: 'mirror' | 'live',
  config: Record<string, unknown>,
  drop: readonly string[],
): Promise<ContractSetup> {
  const cut = await relay(server.port);
  const source = sqlSource({ driver: server.driver, url: server.space().url(cut.port), ...config });
  return {
    source,
    mode,
    down: () => cut.close(),
    teardown: async () => {
      await cut.close();
      for (const sql of drop) await server.space().exec(sql);
    },
  };
}

export function serverCases(server: SqlServer): void {
  const exec = (sql: string, params?: unknown[]) => server.space().exec(sql, params);

  // A contacts table read with a mapping; its soft-delete flag is of the server's own type.
  sourceContract(`${server.label}, table mapping, mirror`, async (contacts) => {
    const table = await contactsTable(server, contacts);
    return throughRelay(server, 'mirror', { table: contactsMapping(table) }, [`DROP TABLE ${table}`]);
  });

  describe('table mapping', () => {
    mirrorCases(() => ({
      driver: server.driver,
      connection: { url: server.space().url() },
      table: (name) => server.table(name),
      exec,
      count: async (table) =>
        Number((await server.space().rows<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n),
      types: server.types,
      flag: (value) => server.flag(value),
      concat: (a, b) => server.concat(a, b),
    }));
  });

  describe('cancellation', () => {
    cancellationCases(() => ({
      driver: server.driver,
      url: server.space().url(),
      table: (name) => server.table(numbered(name)),
      exec,
      slowSearch: (table, slow) => server.slowSearch(table, slow),
      running: (table) => server.running(table),
      cancel: (table) => server.cancel(table),
    }));
  });

  // Many rows, made by the server, read in small batches.
  listingContract(`${server.label}, 50 000 rows in batches of 100`, async () => {
    const cut = await relay(server.port);
    const query = server.series(50_000);
    return {
      source: sqlSource({ driver: server.driver, url: server.space().url(cut.port), query, batchSize: 100 }),
      rows: 50_000,
      down: () => cut.close(),
      teardown: () => cut.close(),
    };
  });
}
