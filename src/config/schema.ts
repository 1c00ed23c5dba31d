import { join, resolve } from 'node:path';
import * as z from 'zod';
import { HEADER_NAME } from '../net/headers.js';
import { isRegion } from '../phone/countries.js';
import { sourceTypes } from '../sources/registry.js';
import { parseCidr } from '../util/cidr.js';
import { isObject } from '../util/json.js';
import { checkDelivery, deliverySchema, workflowsSchema } from '../workflows/config.js';
import { secretFields } from './secret-fields.js';

const region = z
  .string()
  .transform((value) => value.toUpperCase())
  .refine(isRegion, { message: 'must be an ISO 3166 region code such as CH, DE or AT' });

const basePath = z
  .string()
  .transform((value) => `/${value.split('/').filter(Boolean).join('/')}`)
  .refine((value) => /^[\w\-./~]*$/.test(value), { message: 'must be a URL path such as /services' });

/** What goes before `/Lookup` for a base path: '' for '/', else the path without a trailing '/'. */
export const pathPrefix = (path: string): string => path.replace(/\/+$/, '');

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
    .strict()
    .prefault({}),
  /** Live: answers reused for a while, bounded in size; a TTL of 0 turns that kind of answer's caching off. */
  cache: z
    .object({
      ttlMs: z.coerce.number().int().min(0).default(300_000),
      missTtlMs: z.coerce.number().int().min(0).default(30_000),
      maxEntries: z.coerce.number().int().min(1).default(10_000),
    })
    .strict()
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

const tenantName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'letters, digits, "-" and "_" only');

/** Counts per window; a client over it gets 429 with Retry-After. */
const window = (max: number, windowMs: number) =>
  z
    .object({
      max: z.coerce.number().int().min(1).default(max),
      windowMs: z.coerce.number().int().min(100).default(windowMs),
    })
    .strict()
    .prefault({});

/** PostgreSQL's longest name: a longer schema name would be cut, and two tenants' could meet. */
const MAX_SCHEMA_NAME = 63;

/**
 * Where the tenant's state is kept: the embedded SQLite files in its data directory (the default),
 * or a schema of a PostgreSQL database that every instance serving the tenant shares. A `url`
 * without a `type` (as CALLCARD_STORE_URL gives it) is PostgreSQL.
 */
const storeSchema = z.preprocess(
  (value) =>
    isObject(value) && value['type'] === undefined && value['url'] !== undefined
      ? { ...value, type: 'postgres' }
      : value,
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('sqlite') }).strict(),
    z
      .object({
        type: z.literal('postgres'),
        /** postgres://user@host:5432/db; the password in it, or from passwordEnv or passwordFile. */
        url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
        passwordEnv: z.string().min(1).optional(),
        passwordFile: z.string().min(1).optional(),
        /** The tenant's schema: `callcard` for one tenant, `callcard_<tenant>` for several, unless set. */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and "_", not starting with a digit')
          .max(MAX_SCHEMA_NAME)
          .optional(),
        /** Most connections this instance opens to the database (shared by the tenants on it). */
        maxConnections: z.coerce.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .refine((value) => value.passwordEnv === undefined || value.passwordFile === undefined, {
        message: 'give only one of passwordEnv, passwordFile',
        path: ['passwordEnv'],
      }),
  ]),
);

/** What one customer of the instance has: own data, tokens, sources, workflows and limits. */
const tenantSchema = z
  .object({
    /** Path before /Lookup and the workflow names, as entered in the CUSTOMER-PORTAL's root URL. */
    basePath: basePath.default('/'),
    /** Address at which users reach callcard; used in workflow answers' URLs. Taken from requests when unset. */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** The tenant's own data directory (several tenants: `<dataDir>/<tenant>` unless set). */
    dataDir: z.string().min(1).optional(),
    /** Region that national numbers are read in. */
    region: region.default('CH'),
    store: storeSchema.prefault({ type: 'sqlite' }),
    maxResults: z.coerce.number().int().min(1).max(50).default(5),
    auth: z
      .object({
        /** Header that carries each of `tokens`. */
        header: z.string().regex(HEADER_NAME, 'must be an HTTP header name').default('X-Execution-Token'),
        /** Accepted tokens; several at once while rotating. */
        tokens: z.array(z.string().min(16, 'must be at least 16 characters')).default([]),
        /** File with more tokens (one per line), read again when it changes. */
        tokenFile: z.string().min(1).optional(),
        /** Environment variable with more tokens (separated by commas or spaces). */
        tokenEnv: z.string().min(1).optional(),
        /** Header sets for several headers at once: every header of one set must match. */
        credentials: z.array(credentials).default([]),
      })
      .strict()
      .prefault({}),
    /** Client addresses (IPs or CIDRs) allowed to call the API; everyone when empty. */
    allow: z
      .array(
        z.string().refine((value) => parseCidr(value) !== undefined, {
          message: 'must be an IP address or a CIDR such as 203.0.113.0/24',
        }),
      )
      .default([]),
    limits: z
      .object({
        /** Requests per client address (call pages included). */
        perAddress: window(6000, 60_000),
        /** Requests per accepted token. */
        perToken: window(6000, 60_000),
        /** Wrong tokens from one address before it waits `blockMs` (doubled at each further wrong token). */
        badTokens: z
          .object({
            max: z.coerce.number().int().min(1).default(10),
            windowMs: z.coerce.number().int().min(100).default(600_000),
            blockMs: z.coerce.number().int().min(100).default(60_000),
            maxBlockMs: z.coerce.number().int().min(100).default(3_600_000),
          })
          .strict()
          .prefault({}),
        /** Counts in Redis, shared by every instance that uses it; without it, each instance counts alone. */
        redis: z
          .object({
            url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
            ...secretFields('password'),
            /** Prefix of every key, so that deployments sharing a Redis count apart. */
            prefix: z.string().default('callcard:limits:'),
            /** A Redis command not answered by then: the request is counted in this instance instead. */
            timeoutMs: z.coerce.number().int().min(1).max(5000).default(100),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    lookup: z
      .object({
        /** The answer goes out by then, with what the sources found so far. */
        deadlineMs: z.coerce.number().int().positive().max(10_000).default(1500),
      })
      .strict()
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
      .strict()
      .prefault({}),
  })
  .strict()
  .transform((tenant) => ({
    ...tenant,
    sources: tenant.sources.map((entry, index) => ({
      ...entry,
      name: entry.name ?? (index === 0 ? 'contacts' : `${entry.type}-${index + 1}`),
      crmName: entry.crmName ?? 'callcard',
      crmLogo: entry.crmLogo ?? '/logo.svg',
    })),
  }))
  .superRefine((tenant, ctx) => {
    checkDelivery(tenant, ctx);
    const names = new Set(tenant.sources.map((entry) => entry.name));
    for (const [workflow, settings] of Object.entries(tenant.workflows)) {
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
    const seen = new Set<string>();
    tenant.sources.forEach((entry, index) => {
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

/** Settings of a tenant that, with several tenants, may be set once at the top for all of them. */
const SHARED_TENANT_KEYS = [
  'publicUrl',
  'region',
  'maxResults',
  'lookup',
  'delivery',
  'journal',
  'limits',
  'store',
];
/** Settings that are each tenant's own: at the top they would be shared by every customer. */
const OWN_TENANT_KEYS = ['basePath', 'sources', 'workflows', 'allow', 'dataDir'];
const TENANT_KEYS = [...SHARED_TENANT_KEYS, ...OWN_TENANT_KEYS, 'auth'];
/** The one tenant of a config without `tenants:`; its settings sit at the top. */
export const SINGLE_TENANT = 'default';

/**
 * One shape for both forms: without `tenants:`, the top-level settings are the one tenant's;
 * with it, the shared settings at the top are each tenant's defaults.
 */
function gatherTenants(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  if (raw['tenants'] === undefined) {
    const server: Record<string, unknown> = {};
    const tenant: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (TENANT_KEYS.includes(key) && key !== 'dataDir') tenant[key] = value;
      else server[key] = value;
    }
    return { ...server, tenants: { [SINGLE_TENANT]: tenant }, single: true };
  }
  if (!isObject(raw['tenants'])) return raw;
  const shared: Record<string, unknown> = {};
  for (const key of SHARED_TENANT_KEYS) if (raw[key] !== undefined) shared[key] = raw[key];
  const header = isObject(raw['auth']) ? raw['auth']['header'] : undefined;
  const tenants = Object.fromEntries(
    Object.entries(raw['tenants']).map(([name, tenant]) => {
      if (!isObject(tenant)) return [name, tenant];
      const merged: Record<string, unknown> = { ...shared };
      for (const [key, value] of Object.entries(tenant)) {
        merged[key] =
          isObject(value) && isObject(merged[key]) ? { ...(merged[key] as object), ...value } : value;
      }
      if (header !== undefined) {
        const auth = isObject(merged['auth']) ? merged['auth'] : {};
        merged['auth'] = { header, ...auth };
      }
      return [name, merged];
    }),
  );
  const server = Object.fromEntries(
    Object.entries(raw).filter(([key]) => !SHARED_TENANT_KEYS.includes(key) && key !== 'tenants'),
  );
  if (isObject(server['auth'])) {
    const { header: _, ...rest } = server['auth'];
    if (Object.keys(rest).length === 0) delete server['auth'];
    else server['auth'] = rest;
  }
  return { ...server, tenants, single: false };
}

const ownPerTenant = z.never({ error: 'with tenants, set this in each tenant' }).optional();

/** Where the separate metrics listener is when `metrics.host` is not set: this machine only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Settings of the instance, shared by every tenant. */
const serverSettings = {
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  host: z.string().default('0.0.0.0'),
  /** true, or the proxies' addresses (comma-separated IPs or CIDRs) whose X-Forwarded-* headers are believed. */
  trustProxy: z.union([z.boolean(), z.string()]).default(false),
  dataDir: z.string().min(1).default('./data'),
  /** Directory that relative paths in sources are read against: the config file's, else the working one. */
  baseDir: z.string().min(1).optional(),
  /** HTTPS on the main port: PEM files (relative to the config's folder), read again when they change. */
  tls: z
    .object({
      cert: z.string().min(1),
      key: z.string().min(1),
    })
    .strict()
    .optional(),
  http: z
    .object({
      /** A request must be received whole within this time, else the connection is closed. */
      requestTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
      /** Idle keep-alive connections are closed after this time. */
      keepAliveTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(72_000),
    })
    .strict()
    .prefault({}),
  /** Prometheus metrics at GET /metrics. */
  metrics: z
    .object({
      enabled: z.boolean().default(true),
      /** When set, /metrics needs `Authorization: Bearer <token>`. */
      token: z.string().min(16, 'must be at least 16 characters').optional(),
      /** When set, /metrics is served on its own plain HTTP listener on this port, not the main one. */
      port: z.coerce.number().int().min(1).max(65_535).optional(),
      /** The address that listener is on: this machine only unless set (it is plain HTTP). */
      host: z.string().min(1).optional(),
    })
    .strict()
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .strict()
    .prefault({}),
};

export const configSchema = z.preprocess(
  gatherTenants,
  z
    .object({
      ...serverSettings,
      // Only the header may be shared (moved into each tenant); the rest is each tenant's own.
      auth: z
        .object({
          tokens: ownPerTenant,
          credentials: ownPerTenant,
          tokenFile: ownPerTenant,
          tokenEnv: ownPerTenant,
        })
        .strict()
        .optional(),
      basePath: ownPerTenant,
      sources: ownPerTenant,
      workflows: ownPerTenant,
      allow: ownPerTenant,
      tenants: z.record(tenantName, tenantSchema).refine((tenants) => Object.keys(tenants).length > 0, {
        message: 'needs at least one tenant',
      }),
      single: z.boolean(),
    })
    .strict()
    .transform(
      ({ tenants, single, auth: _, basePath: _b, sources: _s, workflows: _w, allow: _a, ...server }) => ({
        ...server,
        tenants: Object.entries(tenants).map(([name, tenant]) => ({
          ...tenant,
          name,
          // One tenant keeps the data directory itself; several each get their own inside it.
          dataDir: tenant.dataDir ?? (single ? server.dataDir : join(server.dataDir, name)),
          // So with a schema of a shared database.
          store:
            tenant.store.type === 'postgres'
              ? {
                  ...tenant.store,
                  schema:
                    tenant.store.schema ??
                    (single ? 'callcard' : `callcard_${name.toLowerCase().replaceAll('-', '_')}`),
                }
              : tenant.store,
          ...(server.baseDir !== undefined && { baseDir: server.baseDir }),
        })),
      }),
    )
    .superRefine((config, ctx) => {
      if (config.metrics.port !== undefined && config.metrics.port === config.port) {
        ctx.addIssue({
          code: 'custom',
          path: ['metrics', 'port'],
          message: 'must differ from port (leave it unset to serve /metrics on the main port)',
        });
      }
      if (config.metrics.host !== undefined && config.metrics.port === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['metrics', 'host'],
          message: 'has no effect without metrics.port (/metrics is then on the main port and host)',
        });
      }
      checkTenantsApart(config.tenants, ctx);
    }),
);

/** Tenants share nothing: no base path inside another's, no data directory, no token. */
function checkTenantsApart(tenants: readonly Tenant[], ctx: z.RefinementCtx): void {
  if (tenants.length < 2) return;
  const paths = new Map<string, string>();
  const dirs = new Map<string, string>();
  const schemas = new Map<string, string>();
  const tokens = new Map<string, string>();
  const within = (a: string, b: string) => a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);
  for (const tenant of tenants) {
    const at = (...path: (string | number)[]) => ['tenants', tenant.name, ...path];
    const path = tenant.basePath.toLowerCase();
    if (path === '/') {
      ctx.addIssue({
        code: 'custom',
        path: at('basePath'),
        message: 'each tenant needs a base path of its own, such as /acme',
      });
    } else {
      for (const [other, name] of paths) {
        if (within(other, path)) {
          ctx.addIssue({
            code: 'custom',
            path: at('basePath'),
            message: `overlaps tenant "${name}"'s ${other}`,
          });
        }
      }
      paths.set(path, tenant.name);
    }
    const dir = resolve(tenant.dataDir);
    const sharing = dirs.get(dir);
    if (sharing) {
      ctx.addIssue({ code: 'custom', path: at('dataDir'), message: `is tenant "${sharing}"'s too` });
    }
    dirs.set(dir, tenant.name);
    if (tenant.store.type === 'postgres') {
      const schema = `${tenant.store.url}\u0000${tenant.store.schema}`;
      const owner = schemas.get(schema);
      if (tenant.store.schema!.length > MAX_SCHEMA_NAME) {
        ctx.addIssue({
          code: 'custom',
          path: at('store', 'schema'),
          message: `"${tenant.store.schema}" is longer than ${MAX_SCHEMA_NAME} characters: set a shorter one`,
        });
      }
      if (owner) {
        ctx.addIssue({ code: 'custom', path: at('store', 'schema'), message: `is tenant "${owner}"'s too` });
      }
      schemas.set(schema, tenant.name);
    }
    tenant.auth.tokens.forEach((token, index) => {
      const owner = tokens.get(token);
      if (owner && owner !== tenant.name) {
        ctx.addIssue({
          code: 'custom',
          path: at('auth', 'tokens', index),
          message: `is tenant "${owner}"'s token too`,
        });
      }
      tokens.set(token, tenant.name);
    });
  }
}

type TenantInput = z.input<typeof tenantSchema>;
/** A config as written: one tenant's settings at the top, or several under `tenants`. */
export type ConfigInput = z.input<z.ZodObject<typeof serverSettings>> &
  Omit<Partial<TenantInput>, 'dataDir'> & { readonly tenants?: Record<string, TenantInput> };
export type Config = z.output<typeof configSchema>;
export type Tenant = Config['tenants'][number];
export type SourceConfig = Tenant['sources'][number];
