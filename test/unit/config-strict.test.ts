import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

/** Paths of the config's objects that would accept (and drop) a key they do not know. */
function lenientObjects(schema: z.core.$ZodType): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (node: z.core.$ZodType | undefined, path: string): void => {
    if (!node || seen.has(node)) return;
    seen.add(node);
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    const child = (key: string, at = path) => visit(def[key] as z.core.$ZodType | undefined, at);
    switch (def.type) {
      case 'object': {
        const catchall = def['catchall'] as z.core.$ZodType | undefined;
        if (catchall?._zod.def.type !== 'never') found.push(path || '(root)');
        for (const [key, value] of Object.entries(def['shape'] as Record<string, z.core.$ZodType>)) {
          visit(value, path ? `${path}.${key}` : key);
        }
        return;
      }
      case 'pipe':
        child('in');
        child('out');
        return;
      case 'array':
        child('element', `${path}[]`);
        return;
      case 'record':
        child('valueType', `${path}.*`);
        return;
      case 'union':
        for (const option of def['options'] as z.core.$ZodType[]) visit(option, path);
        return;
      case 'intersection':
        child('left');
        child('right');
        return;
      case 'lazy':
        visit((def['getter'] as () => z.core.$ZodType)(), path);
        return;
      default:
        child('innerType');
    }
  };
  visit(schema, '');
  return found;
}

describe('configuration objects', () => {
  it('are all strict: no setting is silently dropped', () => {
    expect(lenientObjects(configSchema)).toEqual([]);
  });

  const problems = (config: Record<string, unknown>) => {
    try {
      loadConfig({ env: {}, overrides: { dataDir: '/tmp/callcard-strict', ...config } });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.join('\n');
      throw error;
    }
    return '';
  };

  it('refuses auth settings at the top that no tenant would use', () => {
    const tenants = {
      a: { basePath: '/a', auth: { tokens: ['a-token-aaaaaaaaaaaaaaaa'] } },
      b: { basePath: '/b', auth: { tokens: ['b-token-bbbbbbbbbbbbbbbb'] } },
    };
    expect(problems({ auth: { tokenEnv: 'CALLCARD_TOKENS' }, tenants })).toMatch(
      /^auth\.tokenEnv: with tenants, set this in each tenant/m,
    );
    expect(problems({ auth: { header: 'X-Key', tokenz: ['x'] }, tenants })).toMatch(/^auth: .*tokenz/m);
    expect(problems({ log: { levle: 'debug' }, tenants })).toMatch(/^log: .*levle/m);
  });

  it('refuses metrics.host without metrics.port, where it would have no effect', () => {
    expect(problems({ metrics: { host: '0.0.0.0' } })).toMatch(
      /^metrics\.host: has no effect without metrics\.port/m,
    );
    expect(problems({ metrics: { host: '10.0.0.5', port: 9464 } })).toBe('');
  });

  it('still takes a shared token header at the top', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: '/tmp/callcard-strict',
        auth: { header: 'X-Key' },
        tenants: { a: { basePath: '/a', auth: { tokens: ['a-token-aaaaaaaaaaaaaaaa'] } } },
      },
    });
    expect(config.tenants[0]!.auth.header).toBe('X-Key');
  });
});
