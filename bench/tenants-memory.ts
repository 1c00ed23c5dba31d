// Where a tenant's memory goes: `node --expose-gc --import tsx bench/tenants-memory.ts [--tenants 40]`.
// Opens N tenants (each in a schema of its own on the machine's PostgreSQL, dropped at the end) and
// reports the heap and resident memory (after a full GC) before, after their cores are opened, and
// after the whole service (its HTTP routes too) is built on them, per tenant.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logging.js';
import { createService } from '../src/main.js';
import { openServedTenants } from '../src/served-tenants.js';

const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--tenants') + 1] ?? 40) || 40;
const pgUrl = process.env['CALLCARD_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const prefix = `cc_bench_mem_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'callcard-mem-'));
const name = (n: number) => `t${String(n).padStart(4, '0')}`;
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: dir,
    log: { level: 'warn' },
    store: { type: 'postgres', url: pgUrl },
    tenants: Object.fromEntries(
      Array.from({ length: count }, (_, i) => [
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
const logger = createLogger(config, { destination: { write: () => {} } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const usage = () => {
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, rss, external } = process.memoryUsage();
  return { heapUsed, rss, external };
};
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;
// Warm up: one tenant's modules and pool loaded before counting.
const one = await openServedTenants({ ...config, tenants: config.tenants.slice(0, 1) }, {}, logger);
await Promise.all(one.tenants.map((core) => core.close()));
const before = usage();
const served = await openServedTenants(config, {}, logger);
const cores = usage();
await Promise.all(served.tenants.map((core) => core.close()));
const service = await createService(config, { logger });
await service.app.ready();
const all = usage();
const per = (a: typeof before, b: typeof before) => ({
  heapMiB: mib((b.heapUsed - a.heapUsed) / count),
  externalMiB: mib((b.external - a.external) / count),
  rssMiB: mib((b.rss - a.rss) / count),
});
// The service's cores are opened anew after the first ones closed: its figure is cores and routes.
console.log(
  JSON.stringify(
    { tenants: count, perTenant: { cores: per(before, cores), service: per(before, all) } },
    null,
    1,
  ),
);
await service.close();
const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
for (let i = 1; i <= count; i++) await admin.query(`DROP SCHEMA IF EXISTS "${prefix}_${name(i)}" CASCADE`);
await admin.end();
rmSync(dir, { recursive: true, force: true });
