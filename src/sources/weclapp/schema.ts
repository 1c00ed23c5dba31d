import * as z from 'zod';
import { tokenOrAuthFields } from '../../net/auth-schema.js';

/** The weclapp source's own settings: the tenant, and a user's API token (or any `auth`). */
export const weclappSourceSchema = z.object({
  type: z.literal('weclapp'),
  /** A user's API token (`token`, `tokenEnv` or `tokenFile`), sent as `AuthenticationToken`; or `auth` of any kind. */
  ...tokenOrAuthFields,
  /** `acme` of acme.weclapp.com: the API is https://acme.weclapp.com/webapp/api/v2. */
  tenant: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the first part of <tenant>.weclapp.com')
    .optional(),
  /** The API's address, for a weclapp on a domain of its own: `https://erp.example.com/webapp/api/v2`. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Records asked per page. */
  pageSize: z.coerce.number().int().min(1).max(1000).default(500),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest Retry-After waited out within a sync when weclapp answers 429; a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
});

export type WeclappSourceSettings = z.output<typeof weclappSourceSchema>;

/** The API's address: of the tenant, or the base URL given; one of them is needed. */
export function weclappApi(settings: {
  readonly tenant?: string | undefined;
  readonly baseUrl?: string | undefined;
}): string {
  if (settings.baseUrl) return settings.baseUrl.replace(/\/+$/, '');
  if (!settings.tenant) throw new Error('needs tenant (acme of acme.weclapp.com) or baseUrl');
  return `https://${settings.tenant}.weclapp.com/webapp/api/v2`;
}
