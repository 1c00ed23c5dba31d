import * as z from 'zod';
import { carddavAuthSchema } from './auth.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Variables of `contactUri`. */
export const URI_VARIABLES = ['id', 'addressBook', 'href'] as const;

export const contactUriTemplate = z.string().superRefine((value, ctx) => {
  for (const [, name] of value.matchAll(/\{([^{}]*)\}/g)) {
    if (!(URI_VARIABLES as readonly string[]).includes(name!)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown variable {${name}}: contactUri knows ${URI_VARIABLES.map((v) => `{${v}}`).join(', ')}`,
      });
    }
  }
});

/**
 * A CardDAV server (Radicale, Nextcloud, Baïkal, SOGo...), mirrored into the local index. There is
 * no `search`: CardDAV's text-match compares the TEL text as typed, so `552 20 00` is not found by
 * its digits, and a live lookup would miss most numbers.
 */
export const carddavSourceSchema = z.object({
  type: z.literal('carddav'),
  /** The server (its root or the user's principal: the address books are discovered), or one address book. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((value) => {
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not hold a user name or password: give them under auth'),
  /** Only these address books: display names, last path segments (`contacts`), paths or URLs. */
  addressBooks: z
    .array(z.string().trim().min(1))
    .min(1, 'name at least one address book, or leave it out')
    .optional(),
  auth: carddavAuthSchema.optional(),
  /** Link on the card, e.g. `https://crm.example/contacts/{id}`; else the vCard's URL property. */
  contactUri: contactUriTemplate.optional(),
  /** Longest time one request to the server may take. */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(DEFAULT_TIMEOUT_MS),
});
