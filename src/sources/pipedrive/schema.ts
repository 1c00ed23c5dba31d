import * as z from 'zod';
import { budgetSchema, tokenOrAuthFields } from '../../net/auth-schema.js';

/**
 * The pipedrive source's own settings: the API token (or any `auth`), and optionally the company
 * domain for links. Everything else has the values Pipedrive's API asks for.
 */
export const pipedriveSourceSchema = z.object({
  type: z.literal('pipedrive'),
  /** A user's API token (`token`, `tokenEnv` or `tokenFile`), sent as `x-api-token`; or `auth` of any kind. */
  ...tokenOrAuthFields,
  /** `acme` of acme.pipedrive.com: contacts then link to their page in Pipedrive. */
  companyDomain: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the first part of <name>.pipedrive.com')
    .optional(),
  /** The API's address; by default Pipedrive's, which serves every company. */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://api.pipedrive.com'),
  /** Keys of organization custom fields that hold phone numbers: organizations are then contacts too. */
  organizationPhoneFields: z.array(z.string().min(1)).default([]),
  /** Records asked per page (Pipedrive allows at most 500). */
  pageSize: z.coerce.number().int().min(1).max(500).default(500),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest Retry-After waited out within a sync when Pipedrive answers 429; a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type PipedriveSourceSettings = z.output<typeof pipedriveSourceSchema>;
