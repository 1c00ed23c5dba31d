import * as z from 'zod';
import { secretFields } from '../../config/secret-fields.js';
import { type AuthConfig, authKinds } from '../../net/auth-schema.js';

/** A mailbox by its user principal name (an address) or its object id. */
const mailbox = z
  .string()
  .trim()
  .regex(/^[^\s/?#\\]{1,256}$/, 'must be a mailbox address or a user id');

const httpsUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * The microsoft365 source's own settings: an app registration of the organisation's Entra ID
 * (tenant, client id and secret: client credentials, app-only), the mailboxes whose Outlook contacts
 * are read and whether the organisation's users are.
 */
export const microsoft365SourceSchema = z
  .object({
    type: z.literal('microsoft365'),
    /** The Entra ID tenant: its id (a GUID) or a verified domain such as `contoso.onmicrosoft.com`. */
    tenantId: z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'must be a tenant id or domain')
      .optional(),
    /** The app registration's application (client) id. */
    clientId: z.string().min(1).optional(),
    /** Its client secret (`clientSecret`, `clientSecretEnv` or `clientSecretFile`). */
    ...secretFields('clientSecret'),
    /** Or any auth instead of tenant, client id and secret. */
    auth: authKinds.optional(),
    /** Mailboxes (addresses or user ids) whose Outlook contacts are read. */
    mailboxes: z.array(mailbox).max(500).default([]),
    /** The organisation's users (Entra ID) are contacts too: their business and mobile numbers. */
    users: z.boolean().default(true),
    /** Users whose account is disabled are left out. */
    disabledUsers: z.boolean().default(false),
    /** The company shown for users whose own `companyName` is empty. */
    organisation: z.string().trim().min(1).max(200).optional(),
    /** Microsoft Graph's address, with its version (another national cloud, or a local stand-in). */
    graphUrl: httpsUrl.default('https://graph.microsoft.com/v1.0'),
    /** The identity platform's address, where tokens are asked. */
    loginUrl: httpsUrl.default('https://login.microsoftonline.com'),
    /** Contacts a page of a mailbox's delta listing (Graph's `odata.maxpagesize`). */
    pageSize: z.coerce.number().int().min(1).max(1000).default(200),
    /** Longest time one HTTP request may take. */
    requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
    /** Longest wait for a 429 or 503 within a sync (Retry-After, else 1 s, 2 s, 4 s); a longer one fails the sync. */
    maxRetryWaitMs: z.coerce.number().int().min(0).max(600_000).default(60_000),
  })
  .strict();

export type Microsoft365SourceSettings = z.output<typeof microsoft365SourceSchema>;

/**
 * The auth the settings give: `auth` as given, or app-only client credentials of the tenant's app
 * registration at the identity platform's v2.0 token endpoint, for Microsoft Graph's `.default`
 * scope (the application permissions an administrator granted). Throws on settings that contradict.
 */
export function microsoft365Auth(settings: Microsoft365SourceSettings): AuthConfig {
  if (settings.mailboxes.length === 0 && !settings.users)
    throw new Error('reads nothing: give mailboxes, or users: true');
  const own = (
    ['tenantId', 'clientId', 'clientSecret', 'clientSecretEnv', 'clientSecretFile'] as const
  ).filter((key) => settings[key] !== undefined);
  if (settings.auth) {
    if (own.length > 0) throw new Error(`give either ${own[0]} or auth, not both`);
    return settings.auth;
  }
  if (!settings.tenantId || !settings.clientId)
    throw new Error('needs tenantId and clientId (the app registration), or auth');
  const secrets = own.filter((key) => key.startsWith('clientSecret'));
  if (secrets.length !== 1) {
    throw new Error(
      secrets.length === 0
        ? 'needs clientSecret, clientSecretEnv or clientSecretFile'
        : `give only one of ${secrets.join(', ')}`,
    );
  }
  const login = settings.loginUrl.replace(/\/+$/, '');
  return {
    type: 'oauth2',
    tokenUrl: `${login}/${encodeURIComponent(settings.tenantId)}/oauth2/v2.0/token`,
    clientId: settings.clientId,
    ...(settings.clientSecret !== undefined && { clientSecret: settings.clientSecret }),
    ...(settings.clientSecretEnv !== undefined && { clientSecretEnv: settings.clientSecretEnv }),
    ...(settings.clientSecretFile !== undefined && { clientSecretFile: settings.clientSecretFile }),
    scope: `${new URL(settings.graphUrl).origin}/.default`,
    // The identity platform documents the secret as a form field of the token request.
    clientAuth: 'body',
  };
}
