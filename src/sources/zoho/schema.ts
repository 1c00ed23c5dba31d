import * as z from 'zod';
import { authKinds, budgetSchema } from '../../net/auth-schema.js';

/** Zoho's data centres, by the ending of their domains: `eu` for zohoapis.eu and accounts.zoho.eu. */
export const ZOHO_DATA_CENTRES = ['com', 'eu', 'in', 'com.au', 'jp', 'ca', 'sa', 'uk', 'com.cn'] as const;

export const ZOHO_MODULES = ['Accounts', 'Contacts', 'Leads'] as const;
export type ZohoModule = (typeof ZOHO_MODULES)[number];

/** The zoho source's own settings: the data centre, and the OAuth connection (`auth`, oauth2Code). */
export const zohoSourceSchema = z.object({
  type: z.literal('zoho'),
  /** The data centre the org is in (the ending of its domain: `eu` for crm.zoho.eu). */
  dataCentre: z.enum(ZOHO_DATA_CENTRES),
  /** The API's address; by default the data centre's (`https://www.zohoapis.eu`). */
  apiDomain: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** How requests authenticate: an OAuth connection (`oauth2Code`, at the data centre's accounts server). */
  auth: authKinds,
  /** The modules read. */
  modules: z
    .array(z.enum(ZOHO_MODULES))
    .min(1)
    .default([...ZOHO_MODULES]),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest wait for a 429 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type ZohoSourceSettings = z.output<typeof zohoSourceSchema>;
