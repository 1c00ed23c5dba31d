// import-pg: the generated CSV into callcard's PostgreSQL store (a schema of its own on options.pgUrl,
// 127.0.0.1 only) with `callcard import --replace --config <the store's config>`: wall time, rows/s,
// peak RSS, the schema's size. Served by lookup-pg, lookup-pg3, callflow-pg and callflow-pg3; the
// schema is dropped at the end of the run.
import { join } from 'node:path';
import { cliEnv, freshDir, runCli } from '../support/callcard.js';
import { errorMessage, log } from '../support/children.js';
import { num } from '../support/numbers.js';
import { dropSchema, pgStoreConfig, SCHEMA, schemaInUse } from '../support/pg-store.js';
import { failed } from '../support/report.js';
import { defineScenario } from './types.js';

export interface ImportPgResult {
  readonly schema: string;
  readonly config: string;
  readonly cliLine: string;
  readonly imported: number | null;
  readonly wallSeconds: number;
  readonly rowsPerSecond: number;
  readonly peakRssMb: number | null;
  readonly schemaMb: number;
  readonly pool: number;
}

export default defineScenario<ImportPgResult>({
  name: 'import-pg',
  description: 'import the CSV into the PostgreSQL store (`callcard import --replace --config`)',
  byDefault: true,
  needs: ['contacts'],
  async run(ctx) {
    const client = await ctx.pg();
    schemaInUse(ctx);
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    const config = await pgStoreConfig(ctx, 'store-pg');
    const scratch = join(ctx.paths.work, 'data-pg-import');
    freshDir(scratch);
    log(`importing into PostgreSQL schema ${SCHEMA} (callcard import --replace)`);
    const run = await runCli(
      ctx,
      'import-pg',
      ['import', ctx.paths.csv, '--replace', '--config', config],
      cliEnv(scratch),
      30 * 60_000,
    );
    if (run.code !== 0)
      throw new Error(
        `import into PostgreSQL failed (${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`,
      );
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    log(`PostgreSQL store: ${line}`);
    await client.query(`ANALYZE ${SCHEMA}.contacts, ${SCHEMA}.phone_keys, ${SCHEMA}.sources`);
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [SCHEMA],
    );
    const imported = /imported (\d+) of (\d+)/.exec(line);
    return {
      schema: SCHEMA,
      config,
      cliLine: line,
      imported: imported ? Number(imported[1]) : null,
      wallSeconds: Math.round(run.wallSeconds * 100) / 100,
      rowsPerSecond: Math.round(ctx.options.contacts / run.wallSeconds),
      peakRssMb: run.peakRssMb,
      schemaMb: Math.round(Number(rows[0]?.bytes ?? 0) / 2 ** 20),
      pool: ctx.options.pgPool,
    };
  },
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('import into PostgreSQL store', failed(outcome));
    const r = outcome.result;
    const embedded = ctx.results.import;
    report.row(
      'import into PostgreSQL store, wall time',
      `${r.wallSeconds} s, ${num(r.rowsPerSecond)} rows/s` +
        (embedded
          ? ` (embedded: ${embedded.wallSeconds} s, ratio ${(embedded.wallSeconds / r.wallSeconds).toFixed(2)})`
          : ''),
    );
    report.row(
      'PostgreSQL store size, import peak RSS',
      `${r.schemaMb} MB (tables + indexes), ${r.peakRssMb} MB`,
    );
  },
  footer: (r) => [`import into PostgreSQL (schema ${r.schema}) said: ${r.cliLine}`],
  async cleanup(ctx) {
    try {
      await dropSchema(ctx);
    } catch (error) {
      log(`could not drop schema ${SCHEMA}: ${errorMessage(error)}`);
    }
  },
});
