import * as z from 'zod';
import { basicAuthSchema, bearerAuthSchema, oneSecret, secretFields } from '../config/secret-fields.js';
import { headerName, noLineBreak } from './headers.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL, or http on this machine only (a local authorization server). */
const endpointUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((text) => {
  const url = new URL(text);
  return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
}, 'must be an https URL (http only on 127.0.0.1 or localhost)');

/**
 * OAuth2 authorization-code grant with PKCE and refresh tokens (RFC 6749 section 4.1, RFC 7636):
 * `callcard connect` asks a person's consent once; the tokens are kept encrypted in the store and
 * refreshed before they expire.
 */
export const oauth2CodeAuthSchema = z
  .object({
    type: z.literal('oauth2Code'),
    /** The name the tokens are kept under and `callcard connect` takes; sources default to their own name. */
    connection: z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'must be a name of letters, digits, _, . and -')
      .optional(),
    /** The authorization server's issuer: its endpoints are read from its discovery document. */
    issuer: endpointUrl.optional(),
    /** Or the endpoints themselves. */
    authorizationUrl: endpointUrl.optional(),
    tokenUrl: endpointUrl.optional(),
    /** RFC 8628 device authorization endpoint, for `callcard connect --device`. */
    deviceAuthorizationUrl: endpointUrl.optional(),
    clientId: z.string().min(1),
    /** A confidential client's secret; without one the client is public (PKCE only). */
    ...secretFields('clientSecret'),
    /** How the client authenticates at the token endpoint: HTTP Basic (the default) or form fields. */
    clientAuth: z.enum(['basic', 'body']).default('basic'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be one scope')).default([]),
    /**
     * Where the authorization server sends the browser back: unset, a port `callcard connect` opens
     * on this machine; `http://127.0.0.1:PORT/PATH` the same on that port; any other URL the running
     * service's `<publicUrl><basePath>/oauth/callback`.
     */
    redirectUri: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** More parameters of the consent URL, e.g. `access_type: offline` or `prompt: consent`. */
    authorizationParams: z.record(z.string().regex(/^[\w.-]+$/), z.string()).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const secrets = ['clientSecret', 'clientSecretEnv', 'clientSecretFile'].filter(
      (name) => value[name as keyof typeof value] !== undefined,
    );
    if (secrets.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: `give only one of ${secrets.join(', ')}`,
      });
    }
    if (
      value.issuer === undefined &&
      (value.authorizationUrl === undefined || value.tokenUrl === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: 'needs issuer (endpoints from its discovery document), or authorizationUrl and tokenUrl',
      });
    }
  });

export type OAuth2CodeConfig = z.output<typeof oauth2CodeAuthSchema>;

/** How outbound requests authenticate: the same settings for rest sources and HTTP actions. */
export const authSchema = z
  .discriminatedUnion(
    'type',
    [
      z.object({ type: z.literal('none') }).strict(),
      basicAuthSchema,
      bearerAuthSchema,
      z
        .object({
          type: z.literal('apiKey'),
          /** Header that carries the key. */
          header: headerName.default('X-API-Key'),
          /** Text before the key, e.g. "Token " for `Authorization: Token <key>`. */
          prefix: z.string().refine(noLineBreak, 'must be one line').optional(),
          ...secretFields('key'),
        })
        .strict()
        .superRefine(oneSecret('key')),
      z
        .object({
          type: z.literal('oauth2'),
          /** OAuth2 client credentials grant (RFC 6749 section 4.4). */
          tokenUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          clientId: z.string().min(1),
          ...secretFields('clientSecret'),
          scope: z.string().min(1).optional(),
          audience: z.string().min(1).optional(),
          /** How the client authenticates at the token endpoint: HTTP Basic (the default) or form fields. */
          clientAuth: z.enum(['basic', 'body']).default('basic'),
        })
        .strict()
        .superRefine(oneSecret('clientSecret')),
      oauth2CodeAuthSchema,
      z
        .object({
          type: z.literal('googleServiceAccount'),
          /**
           * The service account's JSON key as Google gives it (`keyFile`: its path; `keyEnv`: a
           * variable holding its text): `client_email`, `private_key`, `token_uri`.
           */
          ...secretFields('key'),
          /** The Workspace user it acts as (domain-wide delegation); without one, the account itself. */
          subject: z
            .string()
            .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
            .optional(),
          scopes: z
            .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be one scope'))
            .min(1, 'needs at least one scope'),
          /** Where tokens are asked, if not the key's `token_uri`. */
          tokenUrl: endpointUrl.optional(),
        })
        .strict()
        .superRefine(oneSecret('key')),
    ],
    { error: 'must be one of none, basic, bearer, apiKey, oauth2, oauth2Code, googleServiceAccount' },
  )
  .default({ type: 'none' });

/** The kinds of auth, without a default: for settings where auth is one choice among others. */
export const authKinds = authSchema.unwrap();

export type AuthConfig = z.output<typeof authSchema>;

/**
 * A vendor's API token as `token`, `tokenEnv` or `tokenFile`, sent the vendor's way (`as`), unless
 * the settings give `auth` of any kind instead (one or the other).
 */
export function tokenOrAuth(
  settings: {
    readonly token?: string | undefined;
    readonly tokenEnv?: string | undefined;
    readonly tokenFile?: string | undefined;
    readonly auth?: AuthConfig | undefined;
  },
  as:
    | { readonly type: 'bearer' }
    | { readonly type: 'apiKey'; readonly header: string; readonly prefix?: string },
): AuthConfig {
  const given = (['token', 'tokenEnv', 'tokenFile'] as const).filter((key) => settings[key] !== undefined);
  if (settings.auth && given.length > 0) throw new Error(`give either ${given[0]} or auth, not both`);
  if (settings.auth) return settings.auth;
  if (given.length !== 1) {
    throw new Error(
      given.length === 0
        ? "needs token, tokenEnv (an environment variable's name) or tokenFile (a file's path), or auth"
        : `give only one of ${given.join(', ')}`,
    );
  }
  const [key] = given as [keyof typeof secretKeys];
  const value = settings[key]!;
  if (as.type === 'bearer') return { type: 'bearer', [key]: value } as AuthConfig;
  return {
    type: 'apiKey',
    header: as.header,
    ...(as.prefix !== undefined && { prefix: as.prefix }),
    [secretKeys[key]]: value,
  } as AuthConfig;
}

const secretKeys = { token: 'key', tokenEnv: 'keyEnv', tokenFile: 'keyFile' } as const;

/** The settings of `tokenOrAuth`, to spread into a connector's schema. */
export const tokenOrAuthFields = { ...secretFields('token'), auth: authKinds.optional() };

/**
 * A vendor's OAuth2 client credentials as `clientId` and `clientSecret` (`Env`, `File`), asked at
 * the vendor's token endpoint (`tokenUrl`, with `scope` when it needs one), unless the settings
 * give `auth` of any kind instead (one or the other).
 */
export function clientCredentialsOrAuth(
  settings: {
    readonly clientId?: string | undefined;
    readonly clientSecret?: string | undefined;
    readonly clientSecretEnv?: string | undefined;
    readonly clientSecretFile?: string | undefined;
    readonly auth?: AuthConfig | undefined;
  },
  vendor: { readonly tokenUrl: string; readonly scope?: string; readonly clientAuth?: 'basic' | 'body' },
): AuthConfig {
  const secrets = (['clientSecret', 'clientSecretEnv', 'clientSecretFile'] as const).filter(
    (key) => settings[key] !== undefined,
  );
  const given = [...(settings.clientId === undefined ? [] : ['clientId']), ...secrets];
  if (settings.auth && given.length > 0) throw new Error(`give either ${given[0]} or auth, not both`);
  if (settings.auth) return settings.auth;
  if (settings.clientId === undefined)
    throw new Error('needs clientId and clientSecret (or Env, File), or auth');
  if (secrets.length !== 1) {
    throw new Error(
      secrets.length === 0
        ? "needs clientSecret, clientSecretEnv (an environment variable's name) or clientSecretFile (a file's path)"
        : `give only one of ${secrets.join(', ')}`,
    );
  }
  const [key] = secrets as [(typeof secrets)[number]];
  return {
    type: 'oauth2',
    tokenUrl: vendor.tokenUrl,
    clientId: settings.clientId,
    [key]: settings[key],
    ...(vendor.scope !== undefined && { scope: vendor.scope }),
    clientAuth: vendor.clientAuth ?? 'basic',
  } as AuthConfig;
}

/** The settings of `clientCredentialsOrAuth`, to spread into a connector's schema. */
export const clientCredentialsOrAuthFields = {
  clientId: z.string().min(1).optional(),
  ...secretFields('clientSecret'),
  auth: authKinds.optional(),
};

/**
 * A cloud connector's share of its vendor's request limits (`budget`), as its answers' headers
 * tell them: a sync spends at most `share` of each window and leaves `reserve` requests of the
 * day's, then waits for the window's reset (a burst window within the sync; a day's pauses the
 * syncs until it resets). Lookups, live calls and workflow actions are never held back by it.
 */
export const budgetSchema = z
  .object({
    /** The share of each of the vendor's windows a sync may spend. */
    share: z.coerce.number().gt(0).max(1).default(0.5),
    /** Requests always left in the day's window for lookups, live calls and actions. */
    reserve: z.coerce.number().int().min(0).optional(),
    /** How long the syncs stay paused when the vendor does not say when its day's window resets. */
    pauseMs: z.coerce.number().int().min(1000).max(86_400_000).default(900_000),
  })
  .strict();

export type BudgetConfig = z.output<typeof budgetSchema>;
