import * as z from 'zod';
import { budgetSchema, clientCredentialsOrAuthFields } from '../../net/auth-schema.js';

/** Salesforce's objects that hold contacts: people, companies, and the leads not yet converted. */
export const SALESFORCE_OBJECTS = ['Account', 'Contact', 'Lead'] as const;
export type SalesforceObject = (typeof SALESFORCE_OBJECTS)[number];

const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'must be a Salesforce field name');

/** The salesforce source's own settings: the org's address, a connected app's client credentials (or any `auth`). */
export const salesforceSourceSchema = z.object({
  type: z.literal('salesforce'),
  /** The org's My Domain address, `https://acme.my.salesforce.com`: the API and the token endpoint. */
  instanceUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /**
   * The external client app's (or connected app's) consumer key and secret, for the client
   * credentials flow at `<instanceUrl>/services/oauth2/token`; or `auth` of any kind (`oauth2Code`).
   */
  ...clientCredentialsOrAuthFields,
  /** The REST API's version. */
  apiVersion: z
    .string()
    .regex(/^\d{2,3}\.0$/, 'must be an API version such as 62.0')
    .default('62.0'),
  /** The objects read: accounts with a `Phone` are contacts too (a switchboard). */
  objects: z
    .array(z.enum(SALESFORCE_OBJECTS))
    .min(1)
    .default([...SALESFORCE_OBJECTS]),
  /** Fields holding numbers besides the standard ones, by object (custom fields end in `__c`). */
  phoneFields: z
    .object({ Account: z.array(fieldName), Contact: z.array(fieldName), Lead: z.array(fieldName) })
    .partial()
    .strict()
    .default({}),
  /** Longest time one HTTP request may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Longest wait for a 429 or 503 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
  maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** The share of the vendor's request limits a sync may spend (`budgetSchema`). */
  budget: budgetSchema.optional(),
});

export type SalesforceSourceSettings = z.output<typeof salesforceSourceSchema>;

/** The org's OAuth2 token endpoint, for the client credentials flow. */
export const salesforceTokenUrl = (instanceUrl: string) =>
  `${instanceUrl.replace(/\/+$/, '')}/services/oauth2/token`;
