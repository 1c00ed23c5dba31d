import { z } from 'zod';
import type { Source, SourceDeps } from '../types.js';

export const embeddedSourceSchema = z.object({
  type: z.literal('embedded'),
});

export interface EmbeddedSourceConfig {
  readonly name: string;
}

/**
 * The embedded contact store: contacts loaded with `callcard import`, kept in the local index under
 * the source's name.
 */
export function createEmbeddedSource(config: EmbeddedSourceConfig, deps: SourceDeps): Source {
  const { name } = config;
  return {
    type: 'embedded',
    name,
    capabilities: { local: true },
    lookup(query) {
      return deps.store.findByKey(name, query.key, query.limit);
    },
    count() {
      return deps.store.count(name);
    },
  };
}
