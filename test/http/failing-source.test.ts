import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/http/app.js';
import { Authenticator } from '../../src/http/auth.js';
import { type ConfiguredSource, createLookup } from '../../src/lookup/lookup.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createWorkflowRegistry } from '../../src/workflows/registry.js';
import { AUTH, TOKEN, tempDir } from '../support/helper.js';

type Search = () => Promise<{ id: string; name: string; primary: boolean }[]>;

const testSource = (name: string, search: Search): ConfiguredSource => ({
  name,
  mode: 'live',
  find: async () => ({ matches: await search() }),
  crmName: name,
  timeoutMs: 1000,
  workflows: [],
});

describe('a slow or broken source over HTTP', () => {
  it('answers 200 with what the healthy source found, never a 5xx', async () => {
    const dir = tempDir();
    const logger = pino({ level: 'silent' });
    const config = loadConfig({ env: {}, overrides: { dataDir: dir.path, auth: { tokens: [TOKEN] } } });
    const store = openSqliteStore(dir.path);
    const lookup = createLookup({
      sources: [
        testSource('hangs', () => new Promise(() => {})),
        testSource('breaks', async () => {
          throw new Error('ECONNREFUSED 10.0.0.1:3306 password=hunter2');
        }),
        testSource('healthy', async () => [{ id: 'h1', name: 'Healthy Hit', primary: true }]),
      ],
      region: 'CH',
      maxResults: 5,
      deadlineMs: 150,
      logger,
    });
    const app = await buildApp({
      config,
      tenants: [
        {
          tenant: config.tenants[0]!,
          lookup,
          workflows: createWorkflowRegistry([]),
          journal: store.calls,
          auth: new Authenticator([{ 'X-Execution-Token': TOKEN }]),
        },
      ],
      logger,
    });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual([
        { id: 'h1', name: 'Healthy Hit', crmName: 'healthy', crmActions: [] },
      ]);
      expect(response.body).not.toContain('hunter2');
    } finally {
      await app.close();
      await store.close();
      dir.remove();
    }
  });
});
