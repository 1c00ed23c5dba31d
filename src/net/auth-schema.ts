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

export type AuthConfig = z.output<typeof authSchema>;
