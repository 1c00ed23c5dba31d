import * as z from 'zod';
import { budgetSchema, clientCredentialsOrAuthFields } from '../../net/auth-schema.js';

/** An Entra ID tenant: its id (a GUID) or one of its domains. */
export const entraTenant = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/, 'must be a tenant id (GUID) or domain');

/** The dynamics365 source's own settings: the environment, an app registration's client credentials (or any `auth`). */
export const dynamics365SourceSchema = z.object({
  type: z.literal('dynamics365'),
  /** The environment's address, `https://contoso.crm4.dynamics.com`. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** The Entra ID tenant the app is registered in (its id or a domain): the token comes from there. */
  tenantId: entraTenant.optional(),
  /** The app registration's client id and secret (client credentials); or `auth` of any kind. */
  ...clientCredentialsOrAuthFields,
  /** Entra ID's address (another cloud: `https://login.microsoftonline.us`). */
  authorityUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://login.microsoftonline.com'),
  /** The Web API's version. */
  apiVersion: z
    .string()
    .regex(/^9\.\d$/, 'must be a Web API version such as 9.2')
    .default('9.2'),
  /** Accounts with a number are contacts too (a switchboard); false reads them only for contacts' company and country. */
  accounts: z.boolean().default(true),
  /** Records asked per page (`odata.maxpagesize`; Dataverse gives at most 5000). */
  pageSize: z.coerce.number().int().min(1).max(5000).default(1000),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest wait for a 429 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type Dynamics365SourceSettings = z.output<typeof dynamics365SourceSchema>;
