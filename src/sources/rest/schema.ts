import * as z from 'zod';
import { authSchema } from '../../net/auth-schema.js';
import { headerName, noLineBreak } from '../../net/headers.js';
import { answerPath, uriTemplate } from '../../net/request-template.js';
import { parseTemplate } from '../../util/template.js';

/** Variables of list requests: paging, and the time of the last change already mirrored. */
export const LIST_VARIABLES = ['since', 'sinceMs', 'cursor', 'page', 'offset', 'limit'] as const;
/** Variables of search requests: the number looked up, in several forms. */
export const SEARCH_VARIABLES = ['e164', 'digits', 'national', 'international', 'limit'] as const;

/** The source only reads: GET, or POST for APIs that take their query in a body. */
const METHODS = ['GET', 'POST'] as const;

const path = answerPath;

const list = (names: readonly string[]) => names.map((name) => `{${name}}`).join(', ');

function checkVariables(text: string, allowed: readonly string[], where: string, ctx: z.RefinementCtx) {
  for (const name of parseTemplate(text).names) {
    if (!allowed.includes(name)) {
      ctx.addIssue({ code: 'custom', message: `unknown variable {${name}}: ${where} know ${list(allowed)}` });
    }
  }
}

function template(allowed: readonly string[], where: string) {
  return z.string().superRefine((value, ctx) => checkVariables(value, allowed, where, ctx));
}

/** Checks every text in a body given as YAML/JSON structure; keys are copied as they are. */
function checkBody(value: unknown, allowed: readonly string[], where: string, ctx: z.RefinementCtx) {
  if (typeof value === 'string') checkVariables(value, allowed, where, ctx);
  else if (Array.isArray(value)) for (const item of value) checkBody(item, allowed, where, ctx);
  else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) checkBody(item, allowed, where, ctx);
  }
}

function requestSchema(allowed: readonly string[], where: string) {
  const text = template(allowed, where);
  return z
    .object({
      /** GET, or POST when there is a body. */
      method: z
        .string()
        .transform((value) => value.toUpperCase())
        .pipe(z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }))
        .optional(),
      /** Absolute, or relative to `baseUrl`. Values are URL-encoded. */
      url: text.refine((value) => value.trim() !== '', 'must not be empty'),
      /** Query parameters, added to the URL's; a parameter whose variables all lack a value is left out. */
      query: z.record(z.string().min(1), text).optional(),
      headers: z.record(headerName, text.refine(noLineBreak, 'must be one line')).optional(),
      /** JSON text (values JSON-escaped), or a YAML/JSON structure whose texts are templates. */
      body: z
        .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
          error: 'must be JSON text, an object or a list',
        })
        .superRefine((value, ctx) => checkBody(value, allowed, where, ctx))
        .optional(),
    })
    .strict()
    .transform((request) => ({ ...request, method: request.method ?? (request.body ? 'POST' : 'GET') }));
}

export type RequestConfig = z.output<ReturnType<typeof requestSchema>>;

const pagingLimits = {
  /** Records asked per page: the `{limit}` variable. */
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  /** A listing that would need more pages fails rather than mirror part of the contacts. */
  maxPages: z.coerce.number().int().min(1).max(1_000_000).default(1000),
};

const paginationSchema = z
  .discriminatedUnion(
    'type',
    [
      z.object({ type: z.literal('none'), ...pagingLimits }).strict(),
      z
        .object({
          type: z.literal('page'),
          ...pagingLimits,
          startPage: z.coerce.number().int().min(0).default(1),
        })
        .strict(),
      z.object({ type: z.literal('offset'), ...pagingLimits }).strict(),
      z
        .object({
          type: z.literal('cursor'),
          ...pagingLimits,
          /** Where the response holds the next page's cursor; no cursor: last page. */
          cursorPath: path,
        })
        .strict(),
      z
        .object({
          type: z.literal('link'),
          ...pagingLimits,
          /** Where the response holds the next page's URL; without it, the `Link: <...>; rel="next"` header. */
          nextPath: path.optional(),
        })
        .strict(),
    ],
    { error: 'must be one of none, page, offset, cursor, link' },
  )
  .prefault({ type: 'none' });

export type PaginationConfig = z.output<typeof paginationSchema>;

const phoneSchema = z.union([
  path,
  z
    .object({
      path,
      /** In each element the path gives, where the number is (default: value, number, phone...). */
      number: path.optional(),
      /** A fixed label for these numbers. */
      label: z.string().min(1).optional(),
      /** In each element, where its label is (default: label, type). */
      labelPath: path.optional(),
    })
    .strict(),
]);

export type PhoneConfig = z.output<typeof phoneSchema>;

const fieldsSchema = z
  .object({
    id: path.default('id'),
    name: path.optional(),
    firstName: path.optional(),
    lastName: path.optional(),
    company: path.optional(),
    /** A path, or a template such as `https://crm.example/contacts/{id}` (`{id}`: the contact's id). */
    contactUri: uriTemplate.optional(),
    companyUri: uriTemplate.optional(),
    country: path.optional(),
    /** Paths of the numbers, the main one first; each may give one number or a list. */
    phones: z.union([phoneSchema, z.array(phoneSchema).min(1, 'needs at least one path')]),
    /** Shown on the card as "label: value". */
    customData: z.record(z.string().min(1), path).optional(),
    /** ISO time or epoch (seconds or milliseconds) of the last change: used for incremental syncs. */
    updatedAt: path.optional(),
    /** True when the record is deleted (e.g. `archived`): it is removed from the mirror. */
    deleted: path.optional(),
  })
  .strict();

export type FieldsConfig = z.output<typeof fieldsSchema>;

const listSchema = z
  .object({
    request: requestSchema(LIST_VARIABLES, 'list requests'),
    /** Used instead of `request` to fetch only the changes since `{since}`, when it differs. */
    incremental: requestSchema(LIST_VARIABLES, 'list requests').optional(),
    /** Where the records are in a response; unset: the response is the list. */
    items: path.optional(),
    pagination: paginationSchema,
  })
  .strict();

const searchRequests = requestSchema(SEARCH_VARIABLES, 'search requests');

const searchSchema = z
  .object({
    /** One request, or several asked together (their records are merged). */
    request: z.preprocess(
      (value) => (Array.isArray(value) ? value : [value]),
      z.array(searchRequests).min(1, 'needs at least one request'),
    ),
    items: path.optional(),
    /** `empty`: a 404 answer means "nobody has this number" (APIs that look up one record). */
    notFound: z.enum(['error', 'empty']).default('error'),
  })
  .strict();

/** The rest source's own settings (the common ones, name, mode, timeoutMs..., are added by the config). */
export const restSourceSchema = z.object({
  type: z.literal('rest'),
  /** Base of relative request URLs, e.g. https://api.hubapi.com */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Headers sent with every request. */
  headers: z.record(headerName, z.string().refine(noLineBreak, 'must be one line')).optional(),
  auth: authSchema,
  /** Longest time one HTTP request may take (listing pages included). */
  requestTimeoutMs: z.coerce.number().int().positive().max(300_000).default(30_000),
  /** Mirror mode: how to list every contact (or those changed since the last sync). */
  list: listSchema.optional(),
  /** Live mode: how to find a number. */
  search: searchSchema.optional(),
  /** Where each field of a contact is in a record; unset: read by the names of the record's fields. */
  fields: fieldsSchema.optional(),
});

export type RestSourceSettings = z.output<typeof restSourceSchema>;
