/**
 * A start opens its tenants a few at a time, not one after another: counted by the opens under
 * way (openCore wrapped, each tenant's store in a schema of its own on the machine's PostgreSQL),
 * never by a timing. A failure closes every tenant opened. Needs the
 * machine's PostgreSQL: skipped with a message without it, a failure under CI.
 */
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { type Core, openCore } from '../../src/core/open-core.js';
import { createLogger } from '../../src/logging.js';
import { openServedTenants } from '../../src/served-tenants.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();

const TENANTS = 12;
const MAX_CONNECTIONS = 4;

describeWithServer('tenants opened at once', unavailable, () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  let prefix: string;

  afterEach(async () => {
    dir?.remove();
    const { rows } = await adminQuery<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'",
      [prefix],
    );
    for (const { nspname } of rows) await adminQuery(`DROP SCHEMA "${nspname}" CASCADE`);
  }, 120_000);

  const configOf = () => {
    prefix = uniqueName('cc_open');
    dir = tempDir();
    const name = (n: number) => `t${String(n).padStart(3, '0')}`;
    return loadConfig({
      env: {},
      overrides: {
        dataDir: dir.path,
        log: { level: 'warn' },
        store: { type: 'postgres', url: pgUrl(), maxConnections: MAX_CONNECTIONS },
        tenants: Object.fromEntries(
          Array.from({ length: TENANTS }, (_, i) => [
            name(i + 1),
            {
              basePath: `/${name(i + 1)}`,
              auth: { tokens: [`token-${name(i + 1)}-0123456789abcdef`] },
              store: { schema: `${prefix}_${name(i + 1)}` },
            },
          ]),
        ),
      },
    });
  };

  /** openCore, counting the opens under way and the cores still open. */
  const counting = (failing?: string) => {
    const counts = { now: 0, most: 0, open: 0 };
    const open: typeof openCore = async (tenant, options) => {
      counts.now++;
      counts.most = Math.max(counts.most, counts.now);
      try {
        if (tenant.name === failing) throw new Error('the store refused');
        const core: Core = await openCore(tenant, options);
        counts.open++;
        return {
          ...core,
          close: async () => {
            counts.open--;
            await core.close();
          },
        };
      } finally {
        counts.now--;
      }
    };
    return { counts, open };
  };

  it('opens several tenants at once, within the pool, in the order of the file', async () => {
    const config = configOf();
    const logger = createLogger(config, { destination: { write: () => {} } });
    const { counts, open } = counting();
    const served = await openServedTenants(config, {}, logger, undefined, { open });
    try {
      expect(counts.most).toBeGreaterThan(1);
      expect(counts.most).toBeLessThanOrEqual(MAX_CONNECTIONS);
      expect(served.tenants.map((core) => core.tenant.name)).toEqual(config.tenants.map((t) => t.name));
      expect(served.auths).toHaveLength(TENANTS);
      // Every schema created, each by its own tenant.
      const { rows } = await adminQuery<{ n: string }>(
        "SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'",
        [prefix],
      );
      expect(Number(rows[0]!.n)).toBe(TENANTS);
    } finally {
      await Promise.all(served.tenants.map((core) => core.close()));
    }
    expect(counts.open).toBe(0);
  }, 120_000);

  it('closes every tenant it opened when one fails, and gives its error', async () => {
    const config = configOf();
    const logger = createLogger(config, { destination: { write: () => {} } });
    const { counts, open } = counting('t006');
    await expect(openServedTenants(config, {}, logger, undefined, { open })).rejects.toThrow(
      /the store refused/,
    );
    expect(counts.now).toBe(0);
    expect(counts.open).toBe(0);
  }, 120_000);
});
