/**
 * Many tenants in one PostgreSQL database share the instance's one pool of that database: the
 * connections the instance holds stay within `store.maxConnections` however many tenants there are,
 * also while every tenant is asked at once. Counted by the server (pg_stat_activity), by an
 * application_name of the test's own given in the store's URL. Needs the machine's PostgreSQL:
 * skipped with a message without it, a failure under CI.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging.js';
import { createService, type Service } from '../../src/main.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();

const TENANTS = 30;
const MAX_CONNECTIONS = 3;

describeWithServer('many tenants in one PostgreSQL database', unavailable, () => {
  let service: Service | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  let prefix: string;

  afterEach(async () => {
    await service?.close();
    service = undefined;
    dir?.remove();
    const { rows } = await adminQuery<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'",
      [prefix],
    );
    for (const { nspname } of rows) await adminQuery(`DROP SCHEMA "${nspname}" CASCADE`);
  }, 120_000);

  it('hold at most store.maxConnections, however many tenants and lookups at once', async () => {
    prefix = uniqueName('cc_many');
    dir = tempDir();
    const name = (n: number) => `t${String(n).padStart(3, '0')}`;
    const token = (n: number) => `token-${String(n).padStart(3, '0')}-0123456789abcdef`;
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir.path,
        log: { level: 'warn' },
        store: {
          type: 'postgres',
          url: `${pgUrl()}?application_name=${prefix}`,
          maxConnections: MAX_CONNECTIONS,
        },
        tenants: Object.fromEntries(
          Array.from({ length: TENANTS }, (_, i) => [
            name(i + 1),
            {
              basePath: `/${name(i + 1)}`,
              auth: { tokens: [token(i + 1)] },
              store: { schema: `${prefix}_${name(i + 1)}` },
            },
          ]),
        ),
      },
    });
    const lines: string[] = [];
    const logger = createLogger(config, { destination: { write: (line: string) => void lines.push(line) } });
    service = await createService(config, { logger });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
    const connections = async () =>
      Number(
        (
          await adminQuery<{ n: string }>(
            'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
            [prefix],
          )
        ).rows[0]!.n,
      );
    expect(service.tenants).toHaveLength(TENANTS);
    const counted = [await connections()];
    // Every tenant asked at once, the connections counted meanwhile.
    let asking = true;
    const counter = (async () => {
      while (asking) counted.push(await connections());
    })();
    const statuses = await Promise.all(
      Array.from({ length: TENANTS * 2 }, (_, i) =>
        fetch(`${base}/${name((i % TENANTS) + 1)}/Lookup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-execution-token': token((i % TENANTS) + 1) },
          body: JSON.stringify({ inputs: { phoneNumber: '41215522000' } }),
        }).then((response) => response.status),
      ),
    );
    asking = false;
    await counter;
    counted.push(await connections());
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The pool was used (the count is the server's), and never went past its bound.
    expect(Math.max(...counted)).toBeGreaterThan(0);
    expect(Math.max(...counted)).toBeLessThanOrEqual(MAX_CONNECTIONS);
  }, 300_000);
});
