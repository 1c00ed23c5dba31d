import { z } from 'zod';
import { isRegion } from '../phone/index.js';
import { sourceTypes } from '../sources/registry.js';
import { deliverySchema, workflowsSchema } from '../workflows/config.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const region = z
  .string()
  .transform((value) => value.toUpperCase())
  .refine(isRegion, { message: 'must be an ISO 3166 region code such as CH, DE or AT' });

const basePath = z
  .string()
  .transform((value) => `/${value.split('/').filter(Boolean).join('/')}`)
  .refine((value) => /^[\w\-./~]*$/.test(value), { message: 'must be a URL path such as /services' });

const sourceCommon = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, "-" and "_" only')
    .optional(),
  /** Shown by the CONNECTOR as the tooltip of the logo; never empty. */
  crmName: z.string().trim().min(1).optional(),
  /** Absolute URL, or a path served by callcard such as /logo.svg. */
  crmLogo: z.string().min(1).optional(),
  /** Longest time this source may take for one lookup. */
  timeoutMs: z.coerce.number().int().positive().max(60_000).default(1000),
  /** mirror: copied into the local index and read from there; live: asked during each lookup. */
  mode: z.enum(['mirror', 'live']).optional(),
  /** Mirror: how often changes are fetched, and how often everything is listed again (catches deletions). */
  sync: z
    .object({
      intervalMs: z.coerce.number().int().min(1000).default(300_000),
      fullIntervalMs: z.coerce.number().int().min(1000).default(86_400_000),
    })
    .prefault({}),
  /** Live: answers reused for a while, bounded in size; a TTL of 0 turns that kind of answer's caching off. */
  cache: z
    .object({
      ttlMs: z.coerce.number().int().min(0).default(300_000),
      missTtlMs: z.coerce.number().int().min(0).default(30_000),
      maxEntries: z.coerce.number().int().min(1).default(10_000),
    })
    .prefault({}),
});

// Strict: a misspelt setting is reported, not silently ignored.
const sourceSchemas = Object.values(sourceTypes).map((type) =>
  sourceCommon.extend(type.schema.shape).strict(),
);
const source = z.discriminatedUnion('type', sourceSchemas as unknown as [(typeof sourceSchemas)[number]]);

const credentials = z
  .record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string().min(1))
  .refine((value) => Object.keys(value).length > 0, { message: 'needs at least one header' });

export const configSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    host: z.string().default('0.0.0.0'),
    /** Path before /Lookup and the workflow names, as entered in the CUSTOMER-PORTAL's root URL. */
    basePath: basePath.default('/'),
    /** Address at which users reach callcard; used in workflow answers' URLs. Taken from requests when unset. */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** true, or the proxies' addresses (comma-separated IPs or CIDRs) whose X-Forwarded-* headers are believed. */
    trustProxy: z.union([z.boolean(), z.string()]).default(false),
    dataDir: z.string().min(1).default('./data'),
    /** Directory that relative paths in sources are read against: the config file's, else the working one. */
    baseDir: z.string().min(1).optional(),
    /** Region that national numbers are read in. */
    region: region.default('CH'),
    maxResults: z.coerce.number().int().min(1).max(50).default(5),
    auth: z
      .object({
        /** Header that carries each of `tokens`. */
        header: z.string().regex(HEADER_NAME, 'must be an HTTP header name').default('X-Execution-Token'),
        /** Accepted tokens; several at once while rotating. */
        tokens: z.array(z.string().min(16, 'must be at least 16 characters')).default([]),
        /** Header sets for several headers at once: every header of one set must match. */
        credentials: z.array(credentials).default([]),
      })
      .prefault({}),
    lookup: z
      .object({
        /** The answer goes out by then, with what the sources found so far. */
        deadlineMs: z.coerce.number().int().positive().max(10_000).default(1500),
      })
      .prefault({}),
    sources: z
      .array(source)
      .min(1)
      .prefault([{ type: 'embedded' }]),
    /** Workflows by name; CallFlow is always there (journal), its settings add actions. */
    workflows: workflowsSchema,
    delivery: deliverySchema,
    journal: z
      .object({
        /** Calls older than this many days are removed from the journal, daily; null keeps them for ever. */
        retentionDays: z.coerce.number().int().min(1).max(36_500).nullable().default(365),
      })
      .prefault({}),
    /** Prometheus metrics at GET /metrics. */
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** When set, /metrics needs `Authorization: Bearer <token>`. */
        token: z.string().min(16, 'must be at least 16 characters').optional(),
        /** When set, /metrics is served on its own plain HTTP listener on this port, not the main one. */
        port: z.coerce.number().int().min(1).max(65_535).optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  .strict()
  .transform((config) => ({
    ...config,
    sources: config.sources.map((entry, index) => ({
      ...entry,
      name: entry.name ?? (index === 0 ? 'contacts' : `${entry.type}-${index + 1}`),
      crmName: entry.crmName ?? 'callcard',
      crmLogo: entry.crmLogo ?? '/logo.svg',
    })),
  }))
  .superRefine((config, ctx) => {
    const names = new Set(config.sources.map((entry) => entry.name));
    for (const [workflow, settings] of Object.entries(config.workflows)) {
      settings.sources?.forEach((name, index) => {
        if (!names.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['workflows', workflow, 'sources', index],
            message: `no source named "${name}"`,
          });
        }
      });
    }
    if (config.metrics.port !== undefined && config.metrics.port === config.port) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', 'port'],
        message: 'must differ from port (leave it unset to serve /metrics on the main port)',
      });
    }
    const seen = new Set<string>();
    config.sources.forEach((entry, index) => {
      if (seen.has(entry.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', index, 'name'],
          message: `"${entry.name}" is used twice`,
        });
      }
      seen.add(entry.name);
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['sources'][number];
