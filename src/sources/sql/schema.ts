import * as z from 'zod';
import { connectionSettings } from '../../sql/connection.js';

export const identifier = z
  .string()
  .regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/, 'must be a plain table or column name');

export const tableMapping = z.strictObject({
  /** Table (or view) holding the contacts. */
  name: identifier,
  id: identifier,
  /** The full name, or firstName + lastName. */
  fullName: identifier.optional(),
  firstName: identifier.optional(),
  lastName: identifier.optional(),
  /** Company name: a column of the table, or of a joined table. */
  company: identifier.optional(),
  companyJoin: z
    .object({
      table: identifier,
      on: identifier,
      id: identifier.default('id'),
      name: identifier.default('name'),
    })
    .strict()
    .optional(),
  phones: z.array(identifier).min(1, 'list at least one number column'),
  contactUri: identifier.optional(),
  companyUri: identifier.optional(),
  updatedAt: identifier.optional(),
  /** Soft-delete flag: rows where it is true are left out (and removed by incremental syncs). */
  deleted: identifier.optional(),
  /** Shown on the card as label: value. */
  custom: z.record(z.string(), identifier).default({}),
  /** Country of the row's address (ISO code or name): its national numbers are read there. */
  country: identifier.optional(),
});

export const sqlSourceSchema = z.object({
  type: z.literal('sql'),
  ...connectionSettings,
  /** A CRM whose schema callcard knows: only the connection and `baseUrl` are needed. */
  preset: z.enum(['suitecrm', 'sugarcrm', 'vtiger', 'espocrm']).optional(),
  /** The CRM's web address, for links to contacts and companies. */
  baseUrl: z.url().optional(),
  table: tableMapping.optional(),
  /** Your own SELECT, returning the conventional columns (id, name, company, phone..., updated_at). */
  query: z.string().optional(),
  /** Live mode: how a number is found. */
  search: z
    .object({
      /** A column of the listing (or table) that holds numbers in one canonical form, indexed. */
      column: identifier.optional(),
      /** Which form that column holds. */
      form: z.enum(['e164', 'digits', 'national']).default('e164'),
      /** Or your own SELECT with :e164, :digits, :national, :international, :limit. */
      query: z.string().optional(),
    })
    .strict()
    .refine((s) => Boolean(s.column) !== Boolean(s.query), { message: 'give either column or query' })
    .optional(),
  /** Links built from row columns: https://crm.example/contacts/{id}. */
  contactUrl: z.string().optional(),
  companyUrl: z.string().optional(),
  /** Rows per batch when listing. */
  batchSize: z.coerce.number().int().min(100).max(100_000).default(5000),
});
