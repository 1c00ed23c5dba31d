import type { z } from 'zod';
import { carddavSourceSchema, createCarddavSource } from './carddav/carddav-source.js';
import { createEmbeddedSource, embeddedSourceSchema } from './embedded/embedded-source.js';
import { createFileSource, fileSourceSchema } from './file/file-source.js';
import { createLdapSource, ldapSourceSchema } from './ldap/ldap-source.js';
import { createRestSource, restSourceSchema } from './rest/rest-source.js';
import { createSqlSource, sqlSourceSchema } from './sql/sql-source.js';
import type { Source, SourceDeps } from './types.js';

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
  readonly create: (config: z.infer<S> & SourceCommonConfig, deps: SourceDeps) => Source | Promise<Source>;
}

function sourceType<S extends z.ZodObject>(type: SourceType<S>): SourceType<S> {
  return type;
}

/** Source adapters by `type`. Adding one: a folder under sources/, then one line here. */
export const sourceTypes = {
  embedded: sourceType({ schema: embeddedSourceSchema, create: createEmbeddedSource }),
  rest: sourceType({ schema: restSourceSchema, create: createRestSource }),
  file: sourceType({ schema: fileSourceSchema, create: createFileSource }),
  sql: sourceType({ schema: sqlSourceSchema, create: createSqlSource }),
  ldap: sourceType({ schema: ldapSourceSchema, create: createLdapSource }),
  carddav: sourceType({ schema: carddavSourceSchema, create: createCarddavSource }),
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
  // The config was validated against the type's schema when it was loaded.
  return type.create(config as never, deps);
}
