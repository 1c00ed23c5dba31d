import { resolve } from 'node:path';
import type * as z from 'zod';
import { type ColumnRole, roleOf, toRawContact } from '../../contacts/columns.js';
import type { RawContact } from '../../contacts/raw-contact.js';
import type { Row, SqlClient } from '../../sql/clients.js';
import { readPassword } from '../../sql/connection.js';
import { sharedClient } from '../../sql/pools.js';
import { fillLink } from '../../util/template.js';
import type { Source, SourceDeps } from '../types.js';
import { type PresetName, presetOf } from './presets.js';
import type { sqlSourceSchema } from './schema.js';

export { sqlSourceSchema } from './schema.js';

export type SqlSourceConfig = z.infer<typeof sqlSourceSchema> & {
  readonly name: string;
  readonly timeoutMs: number;
};

// Columns that build links or drive queries, not shown on the card.
const INTERNAL = new Set(['company_id', 'search_key']);

/** Reads `{column}` placeholders from a row. */
function fill(template: string, row: Row): string | undefined {
  return fillLink(template, (column) => {
    const value = row[column];
    return value === null || value === undefined ? value : String(value);
  });
}

/**
 * An error saying the database user may not read one of these tables, or that it is not there (a
 * CRM without e-mail tables): MySQL/MariaDB ER_TABLEACCESS_DENIED_ERROR, ER_NO_SUCH_TABLE and their
 * PostgreSQL and SQLite likes, naming the table.
 */
function missingTable(error: unknown, tables: readonly string[]): string | undefined {
  const message = error instanceof Error ? error.message : '';
  if (!/denied|doesn't exist|does not exist|no such table|permission/i.test(message)) return undefined;
  return tables.find((table) => new RegExp(`\\b${table}\\b`).test(message));
}

function listingOf(
  config: SqlSourceConfig,
  { quote, alias }: Pick<SqlClient, 'quote' | 'alias'>,
  optional = true,
): string {
  if (config.query) return config.query;
  if (config.preset) return presetOf(config.preset as PresetName).query({ optional });
  const t = config.table!;
  const columns: string[] = [`t.${quote(t.id)} AS ${alias('id')}`];
  const add = (column: string | undefined, name: string) => {
    if (column) columns.push(`t.${quote(column)} AS ${alias(name)}`);
  };
  add(t.fullName, 'name');
  add(t.firstName, 'first_name');
  add(t.lastName, 'last_name');
  if (t.companyJoin) {
    columns.push(`co.${quote(t.companyJoin.name)} AS ${alias('company')}`);
    // The company's id, for a companyUrl such as https://crm.example/companies/{company_id}.
    add(t.companyJoin.on, 'company_id');
  } else add(t.company, 'company');
  // Aliases named like numbers, so that the column roles read them as numbers, the first as the main one.
  for (const [index, column] of t.phones.entries()) add(column, index === 0 ? 'phone' : `phone_${index + 1}`);
  add(t.contactUri, 'contact_uri');
  add(t.companyUri, 'company_uri');
  add(t.updatedAt, 'updated_at');
  add(t.deleted, 'deleted');
  add(t.country, 'country');
  if (config.search?.column) add(config.search.column, 'search_key');
  for (const [label, column] of Object.entries(t.custom))
    columns.push(`t.${quote(column)} AS ${alias(label)}`);
  const join = t.companyJoin
    ? ` LEFT JOIN ${quote(t.companyJoin.table)} co ON co.${quote(t.companyJoin.id)} = t.${quote(t.companyJoin.on)}`
    : '';
  return `SELECT ${columns.join(', ')} FROM ${quote(t.name)} t${join}`;
}

/**
 * Contacts in a PostgreSQL, MySQL/MariaDB or SQLite database: a table mapping, your own query, or a
 * CRM preset. Lists them for mirroring (all, or changed since a time) and, given an indexed column
 * of canonical numbers, finds a number live. Queries are parameterised; names in the mapping are
 * checked and quoted.
 */
export function createSqlSource(config: SqlSourceConfig, deps: SourceDeps): Source {
  const mode = config.query ? 'query' : config.preset ? 'preset' : config.table ? 'table' : undefined;
  if (!mode) throw new Error(`source "${config.name}": give one of table, query or preset`);
  if ([config.query, config.preset, config.table].filter(Boolean).length > 1) {
    throw new Error(`source "${config.name}": give only one of table, query or preset`);
  }
  if (config.preset && !config.baseUrl) throw new Error(`source "${config.name}": a preset needs baseUrl`);
  const password = readPassword(config, deps.baseDir);
  const client: SqlClient = sharedClient(config.driver, {
    ...(config.url && { url: config.url }),
    ...(config.file && { file: resolve(deps.baseDir, config.file) }),
    ...(password && { password }),
    statementTimeoutMs: Math.max(config.timeoutMs * 2, 30_000),
  });
  const q = client.quote;
  let listing = listingOf(config, client);
  const preset = config.preset ? presetOf(config.preset as PresetName) : undefined;
  let withOptional = preset !== undefined && preset.optionalTables.length > 0;
  /**
   * A preset's optional parts read tables the database user may not be granted: without them the
   * contacts come still, with a warning, from then on. Answers whether the query is worth asking again.
   */
  const degrade = (error: unknown): boolean => {
    if (!preset || !withOptional) return false;
    const table = missingTable(error, preset.optionalTables);
    if (!table) return false;
    withOptional = false;
    listing = listingOf(config, client, false);
    deps.logger.warn(
      { source: config.name, table },
      `cannot read ${table}: contacts are read without their ${preset.optionalWhat}`,
    );
    return true;
  };
  const base = config.baseUrl?.replace(/\/+$/, '');
  const contactUrl = config.contactUrl ?? (preset && base + preset.contactPath);
  const companyUrl = config.companyUrl ?? (preset && base + preset.companyPath);

  let roles: { columns: string[]; roles: ColumnRole[] } | undefined;
  function toContact(row: Row): RawContact {
    const columns = Object.keys(row);
    if (!roles || roles.columns.length !== columns.length || roles.columns.some((c, i) => c !== columns[i])) {
      roles = {
        columns,
        roles: columns.map((column) => (INTERNAL.has(column) ? { kind: 'ignore' } : roleOf(column))),
      };
    }
    const contact = toRawContact(
      roles.roles,
      columns.map((column) => row[column]),
    );
    if (contactUrl && !contact.contactUri) {
      const url = fill(contactUrl, row);
      if (url) contact.contactUri = url;
    }
    if (companyUrl && !contact.companyUri) {
      const url = fill(companyUrl, row);
      if (url) contact.companyUri = url;
    }
    return contact;
  }

  const hasDeleted = mode === 'preset' || Boolean(config.table?.deleted);
  // Rows whose soft-delete flag is not set. PostgreSQL compares a boolean with 0 not at all
  // ("operator does not exist"): there the flag, boolean or a number, is read as an integer.
  const deletedFlag =
    config.driver === 'postgres' ? `CAST(q.${q('deleted')} AS INTEGER)` : `q.${q('deleted')}`;
  const notDeleted = `(q.${q('deleted')} IS NULL OR ${deletedFlag} = 0)`;
  const hasUpdated = mode === 'preset' || Boolean(config.table?.updatedAt) || mode === 'query';
  let closed = false;

  const source: Source = {
    type: 'sql',
    name: config.name,
    async *list({ signal, since }) {
      // A full listing leaves deleted rows out; a listing of changes keeps them, so they get removed.
      const where: string[] = [];
      if (since !== undefined && hasUpdated) where.push(`q.${q('updated_at')} > :since`);
      if (since === undefined && hasDeleted) where.push(notDeleted);
      const values = since === undefined ? {} : { since: sqlTime(config.driver, since) };
      const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
      const rows = () =>
        client.stream(`SELECT * FROM (${listing}) q${filter}`, values, signal, config.batchSize);
      let listed = false;
      try {
        for await (const batch of rows()) {
          listed = true;
          yield batch.map(toContact);
        }
      } catch (error) {
        if (listed || !degrade(error)) throw error;
        for await (const batch of rows()) yield batch.map(toContact);
      }
    },
    close() {
      closed = true;
      return client.close();
    },
  };
  if (config.search) {
    const search = config.search;
    source.search = async (query, { signal }) => {
      if (closed) throw new Error('source is closed');
      const values = {
        e164: query.forms.e164,
        digits: query.forms.digits,
        national: query.forms.national,
        international: query.forms.international,
        // The most results the caller uses (see SearchQuery), also for a query of your own: the core
        // drops what does not have the number exactly, but does not cut what is left to the limit.
        // A search query that may return near misses should order the likeliest rows first.
        limit: query.limit,
      };
      const sql = () =>
        search.query ??
        `SELECT * FROM (${listing}) q WHERE q.${q('search_key')} = :${search.form}${
          hasDeleted ? ` AND ${notDeleted}` : ''
        } LIMIT :limit`;
      try {
        return (await client.query(sql(), values, signal)).map(toContact);
      } catch (error) {
        if (!degrade(error)) throw error;
        return (await client.query(sql(), values, signal)).map(toContact);
      }
    };
  }
  return source;
}

/** A time as each driver compares it with a DATETIME/TIMESTAMP column. */
function sqlTime(driver: SqlSourceConfig['driver'], ms: number): Date | string {
  // SQLite keeps times as text: compare in the same "YYYY-MM-DD HH:MM:SS" form.
  return driver === 'sqlite'
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '')
    : new Date(ms);
}
