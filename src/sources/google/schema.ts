import * as z from 'zod';
import { authKinds } from '../../net/auth-schema.js';

/**
 * The google source's own settings: the OAuth connection of a Google account (`auth`, usually
 * `oauth2Code` with Google's endpoints, connected once by `callcard connect`), and what it reads:
 * the account's contacts and the Workspace directory.
 */
export const googleSourceSchema = z.object({
  type: z.literal('google'),
  /** How requests authenticate: `oauth2Code` (Google's authorization-code flow) or any other kind. */
  auth: authKinds,
  /** The account's own contacts (People API `people/me/connections`). */
  contacts: z.boolean().default(true),
  /** The Workspace domain's directory: its users' profiles (and shared domain contacts if told). */
  directory: z.boolean().default(false),
  /** Also the domain's shared contacts (`DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT`). */
  domainContacts: z.boolean().default(false),
  /** The People API's address (a local stand-in in tests). */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://people.googleapis.com'),
  /** People a page (Google allows 1 to 1000). */
  pageSize: z.coerce.number().int().min(1).max(1000).default(1000),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest wait for a 429 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
});

export type GoogleSourceSettings = z.output<typeof googleSourceSchema>;
