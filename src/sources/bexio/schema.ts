import * as z from 'zod';
import { budgetSchema, tokenOrAuthFields } from '../../net/auth-schema.js';
import { isTimeZone } from '../../util/zone-time.js';

/** The bexio source's own settings: a personal access token (or any `auth`). */
export const bexioSourceSchema = z.object({
  type: z.literal('bexio'),
  /** A personal access token (`token`, `tokenEnv` or `tokenFile`), sent as a bearer token; or `auth` of any kind. */
  ...tokenOrAuthFields,
  /** The API's address. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.bexio.com'),
  /** The time zone of bexio's times (`updated_at` is wall-clock time without a zone). */
  timeZone: z
    .string()
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/Zurich')
    .default('Europe/Zurich'),
  /** Records asked per page (bexio allows at most 2000). */
  pageSize: z.coerce.number().int().min(1).max(2000).default(500),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest Retry-After waited out within a sync when bexio answers 429; a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type BexioSourceSettings = z.output<typeof bexioSourceSchema>;
