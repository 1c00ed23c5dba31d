import * as z from 'zod';
import { templateAttributes } from './entry.js';
// The filter syntax is checked when the config is read, by the LDAP client's own parser.
import { checkFilterText } from './filter-text.js';

/** An attribute description: a name (with options such as `;lang-de`) or an OID. */
export const attributeName = z
  .string()
  .regex(
    /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9-]+)*$/,
    'must be an LDAP attribute name such as telephoneNumber',
  );

/** One attribute or several, tried in order. */
export const attributes = (defaults: string[]) =>
  z
    .union([attributeName, z.array(attributeName).min(1, 'needs at least one attribute')])
    .transform((value) => (typeof value === 'string' ? [value] : value))
    .default(defaults);

export const filterText = z.string().superRefine((value, ctx) => {
  try {
    checkFilterText(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not an LDAP filter: ${(error as Error).message}` });
  }
});

export const uriTemplate = z.string().superRefine((value, ctx) => {
  for (const name of templateAttributes(value)) {
    if (!attributeName.safeParse(name).success)
      ctx.addIssue({ code: 'custom', message: `{${name}} is not an attribute name` });
  }
});

export const secret = z.string().min(1).optional();

export const ldapSourceSchema = z.object({
  type: z.literal('ldap'),
  /** ldap://host[:port] (389) or ldaps://host[:port] (636): scheme, host and port only. */
  url: z
    .string()
    .regex(/^ldaps?:\/\/[^/?#\s]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]')
    .transform((url) => url.replace(/\/$/, '')),
  /** Account callcard binds as: a DN, or user@domain for Active Directory. Unset: anonymous. */
  bindDn: z.string().min(1).optional(),
  /** Its password, given here, by environment variable (passwordEnv) or file (passwordFile). */
  password: secret,
  passwordEnv: secret,
  passwordFile: secret,
  /** Where the contacts are, e.g. ou=people,dc=example,dc=ch. */
  baseDn: z.string().min(1),
  /** sub: the whole subtree under baseDn; one: its direct children only. */
  scope: z.enum(['sub', 'one']).default('sub'),
  /** Which entries are contacts (RFC 4515). Default: people with one of the phone attributes. */
  filter: filterText.optional(),
  /** Where each field of a contact is; a list is tried in order, the first attribute with a value wins. */
  attributes: z
    .object({
      /** A stable id; the entry's DN when none has a value. objectGUID (AD) is shown as a GUID. */
      id: attributes(['entryUUID', 'objectGUID']),
      name: attributes(['displayName', 'cn']),
      /** `o` (inetOrgPerson), `company` (Active Directory). */
      company: attributes(['o', 'company']),
      /** Every value of each, labelled by its attribute; the first value is the main number. */
      phones: attributes(['telephoneNumber', 'mobile', 'homePhone']),
      /** Last change, for incremental syncs (AD knows both, OpenLDAP modifyTimestamp only). */
      updatedAt: attributes(['modifyTimestamp', 'whenChanged']),
      /** ISO region that the entry's national numbers are read in (AD: `c`). */
      country: attributeName.optional(),
    })
    .strict()
    .prefault({}),
  /** Shown on the card as label: value, e.g. { E-mail: mail, Department: department }. */
  custom: z.record(z.string().min(1), attributeName).default({}),
  /** Link on the card: {attribute}, {id} or {dn} filled in and URL-encoded, e.g. https://intranet.example.ch/people/{uid} */
  contactUri: uriTemplate.optional(),
  tls: z
    .object({
      /** PEM file of the CA that signed the server's certificate, when not a public one. */
      caFile: z.string().min(1).optional(),
      /** false accepts any certificate: for tests only. */
      rejectUnauthorized: z.boolean().default(true),
      /** Upgrade an ldap:// connection with StartTLS before binding. */
      startTls: z.boolean().default(false),
    })
    .strict()
    .prefault({}),
  /** Entries per page when listing (paged results control); Active Directory gives at most 1000. */
  pageSize: z.coerce.number().int().min(1).max(10_000).default(500),
  /**
   * Live mode: `exact` finds the number in its usual forms (E.164, international, national, 00...);
   * `suffix` also by how it ends, which finds `+41 (0)21 552 20 00` but is a substring search that
   * large directories may not index.
   */
  liveMatch: z.enum(['exact', 'suffix']).default('exact'),
});
