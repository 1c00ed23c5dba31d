import type * as z from 'zod';
import { bexioSourceSchema } from './bexio/schema.js';
import { carddavSourceSchema } from './carddav/schema.js';
import { dynamics365SourceSchema } from './dynamics365/schema.js';
import { embeddedSourceSchema } from './embedded/embedded-source.js';
import { fileSourceSchema } from './file/schema.js';
import { googleSourceSchema } from './google/schema.js';
import { hubspotSourceSchema } from './hubspot/schema.js';
import { ldapSourceSchema } from './ldap/schema.js';
import { microsoft365SourceSchema } from './microsoft365/schema.js';
import { odooSourceSchema } from './odoo/schema.js';
import { pipedriveSourceSchema } from './pipedrive/schema.js';
import { restSourceSchema } from './rest/schema.js';
import { salesforceSourceSchema } from './salesforce/schema.js';
import { sqlSourceSchema } from './sql/schema.js';
import type { Source, SourceDeps } from './types.js';
import { weclappSourceSchema } from './weclapp/schema.js';
import { zohoSourceSchema } from './zoho/schema.js';

/** Fields every source has, whatever its type; the lookup core uses them, adapters need not. */
export interface SourceCommonConfig {
  readonly type: string;
  readonly name: string;
  /** Longest time one lookup may take; adapters use it to bound what they ask their servers. */
  readonly timeoutMs: number;
}

interface SourceType<S extends z.ZodObject> {
  /** The adapter's own settings, merged with the common ones in the config schema. */
  readonly schema: S;
  /** The adapter, imported when a source of its type is opened: its driver loads only then. */
  readonly load: () => Promise<
    (config: z.infer<S> & SourceCommonConfig, deps: SourceDeps) => Source | Promise<Source>
  >;
}

function sourceType<S extends z.ZodObject>(type: SourceType<S>): SourceType<S> {
  return type;
}

/**
 * Source adapters by `type`. Adding one: a folder under sources/ with its settings' schema in a module
 * that loads no driver (`schema.ts`), then one line here.
 */
export const sourceTypes = {
  embedded: sourceType({
    schema: embeddedSourceSchema,
    load: async () => (await import('./embedded/embedded-source.js')).createEmbeddedSource,
  }),
  rest: sourceType({
    schema: restSourceSchema,
    load: async () => (await import('./rest/rest-source.js')).createRestSource,
  }),
  file: sourceType({
    schema: fileSourceSchema,
    load: async () => (await import('./file/file-source.js')).createFileSource,
  }),
  sql: sourceType({
    schema: sqlSourceSchema,
    load: async () => (await import('./sql/sql-source.js')).createSqlSource,
  }),
  ldap: sourceType({
    schema: ldapSourceSchema,
    load: async () => (await import('./ldap/ldap-source.js')).createLdapSource,
  }),
  carddav: sourceType({
    schema: carddavSourceSchema,
    load: async () => (await import('./carddav/carddav-source.js')).createCarddavSource,
  }),
  pipedrive: sourceType({
    schema: pipedriveSourceSchema,
    load: async () => (await import('./pipedrive/pipedrive-source.js')).createPipedriveSource,
  }),
  hubspot: sourceType({
    schema: hubspotSourceSchema,
    load: async () => (await import('./hubspot/hubspot-source.js')).createHubspotSource,
  }),
  weclapp: sourceType({
    schema: weclappSourceSchema,
    load: async () => (await import('./weclapp/weclapp-source.js')).createWeclappSource,
  }),
  bexio: sourceType({
    schema: bexioSourceSchema,
    load: async () => (await import('./bexio/bexio-source.js')).createBexioSource,
  }),
  dynamics365: sourceType({
    schema: dynamics365SourceSchema,
    load: async () => (await import('./dynamics365/dynamics365-source.js')).createDynamics365Source,
  }),
  salesforce: sourceType({
    schema: salesforceSourceSchema,
    load: async () => (await import('./salesforce/salesforce-source.js')).createSalesforceSource,
  }),
  zoho: sourceType({
    schema: zohoSourceSchema,
    load: async () => (await import('./zoho/zoho-source.js')).createZohoSource,
  }),
  microsoft365: sourceType({
    schema: microsoft365SourceSchema,
    load: async () => (await import('./microsoft365/microsoft365-source.js')).createMicrosoft365Source,
  }),
  google: sourceType({
    schema: googleSourceSchema,
    load: async () => (await import('./google/google-source.js')).createGoogleSource,
  }),
  odoo: sourceType({
    schema: odooSourceSchema,
    load: async () => (await import('./odoo/odoo-source.js')).createOdooSource,
  }),
} as const;

export type SourceTypeName = keyof typeof sourceTypes;

/** How a source is read: its own index (embedded), a mirror of it, or asked live. */
export type ReadMode = 'embedded' | 'mirror' | 'live';

function modeOf(entry: SourceCommonConfig & { readonly mode?: string }, source: Source): ReadMode {
  if (!source.list && !source.search) return 'embedded';
  const mode = entry.mode ?? (source.list ? 'mirror' : 'live');
  if (mode === 'mirror' && !source.list)
    throw new Error(`source "${entry.name}" cannot list contacts: use mode: live`);
  if (mode === 'live' && !source.search) {
    throw new Error(
      `source "${entry.name}" cannot search numbers: use mode: mirror (or configure its search)`,
    );
  }
  return mode === 'live' ? 'live' : 'mirror';
}

/**
 * Builds a source and decides how it is read: the one build step of `serve` and `config check`, so
 * that a config the check accepts is one serve starts with.
 */
export async function openSource(
  config: SourceCommonConfig & { readonly mode?: string } & Record<string, unknown>,
  deps: SourceDeps,
): Promise<{ source: Source; mode: ReadMode }> {
  const source = await createSource(config, deps);
  try {
    return { source, mode: modeOf(config, source) };
  } catch (error) {
    await source.close?.();
    throw error;
  }
}

export async function createSource(
  config: SourceCommonConfig & Record<string, unknown>,
  deps: SourceDeps,
): Promise<Source> {
  const type = sourceTypes[config.type as SourceTypeName];
  if (!type) throw new Error(`unknown source type "${config.type}"`);
  const create = await type.load();
  // The config was validated against the type's schema when it was loaded.
  return create(config as never, deps);
}
