import * as z from 'zod';
import type { Source } from '../types.js';

export const embeddedSourceSchema = z.object({
  type: z.literal('embedded'),
});

export interface EmbeddedSourceConfig {
  readonly name: string;
}

/**
 * The embedded contact store: contacts loaded with `callcard import`. They are in the local index
 * under the source's name already, so the source itself neither lists nor searches.
 */
export function createEmbeddedSource(config: EmbeddedSourceConfig): Source {
  return { type: 'embedded', name: config.name };
}
