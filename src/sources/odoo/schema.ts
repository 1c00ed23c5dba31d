import * as z from 'zod';
import { odooConnectionFields } from '../../net/odoo-rpc.js';

/** A field of `res.partner`. */
const fieldName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a field name of res.partner');

/**
 * The odoo source's own settings: the Odoo, the API (JSON-2, or JSON-RPC with database and login)
 * and a user's API key. Checked together when the source is opened (`odooConnectionIssues`).
 */
export const odooSourceSchema = z.object({
  type: z.literal('odoo'),
  ...odooConnectionFields,
  /** The partner fields that hold numbers, in order (an Odoo without `mobile` on contacts: `[phone]`). */
  phoneFields: z.array(fieldName).min(1).default(['phone', 'mobile']),
  /** Records asked per page. */
  pageSize: z.coerce.number().int().min(1).max(5000).default(500),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest Retry-After waited out within a sync when Odoo answers 429; a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
});

export type OdooSourceSettings = z.output<typeof odooSourceSchema>;
