import { z } from 'zod';
import { basicAuthSchema, bearerAuthSchema, oneSecret, secretFields } from '../config/secret-fields.js';
import { headerName, noLineBreak } from './headers.js';

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
    ],
    { error: 'must be one of none, basic, bearer, apiKey, oauth2' },
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
