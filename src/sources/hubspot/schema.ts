import * as z from 'zod';
import { budgetSchema, tokenOrAuthFields } from '../../net/auth-schema.js';

const propertyName = z.string().regex(/^[a-z0-9_]{1,100}$/, 'must be a HubSpot property name');

/** The hubspot source's own settings: a private app's token (or any `auth`), the portal for links. */
export const hubspotSourceSchema = z.object({
  type: z.literal('hubspot'),
  /** A private app's access token (`token`, `tokenEnv` or `tokenFile`), sent as a bearer token; or `auth` of any kind. */
  ...tokenOrAuthFields,
  /** The HubSpot account (portal) id: cards then link to the contact or company in HubSpot. */
  portalId: z.coerce.number().int().positive().optional(),
  /** The API's address. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.hubapi.com'),
  /** Contact properties that hold numbers besides `phone` and `mobilephone` (e.g. `hs_whatsapp_phone_number`). */
  phoneProperties: z.array(propertyName).default([]),
  /** Companies with a `phone` are contacts too (calls to a switchboard); false reads them only for contacts' company and country. */
  companies: z.boolean().default(true),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest wait for a 429 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type HubspotSourceSettings = z.output<typeof hubspotSourceSchema>;
