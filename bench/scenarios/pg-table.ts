// pg-table: the generated contacts in a PostgreSQL table (options.pgUrl, 127.0.0.1 only) with an
// indexed phone_e164 column, for live-sql and mirror-sync. Dropped at the end of the run (also on
// signals and the run limit, with psql).
import { rmSync } from 'node:fs';
import { errorMessage, log, onEmergency, withTimeout } from '../support/children.js';
import { num } from '../support/numbers.js';
import * as pgBench from '../support/pg.js';
import { failed } from '../support/report.js';
import { defineScenario } from './types.js';

/** Set from the start of the load until the table is dropped. */
let tableMayExist = false;

export default defineScenario<pgBench.TableLoad>({
  name: 'pg-table',
  description: 'the contacts in a PostgreSQL table (for live-sql and mirror-sync)',
  byDefault: true,
  group: 'sources',
  needs: ['contacts'],
  async run(ctx) {
    const client = await ctx.pg();
    const url = ctx.options.pgUrl;
    tableMayExist = true;
    onEmergency(() => {
      if (!tableMayExist) return;
      const ok = pgBench.dropTableSync(url);
      process.stderr.write(`bench: ${ok ? 'dropped' : 'could not drop'} PostgreSQL table ${pgBench.TABLE}\n`);
    });
    log(`loading ${num(ctx.options.contacts)} contacts into PostgreSQL table ${pgBench.TABLE}`);
    const table = await withTimeout(
      pgBench.loadTable(client, { csvFile: ctx.paths.csv, distDir: ctx.paths.dist, log }),
      20 * 60_000,
      'PostgreSQL load',
    );
    log(`PostgreSQL: ${table.rows} rows in ${table.loadSeconds} s, index ${table.indexSeconds} s`);
    return table;
  },
  rows(report, outcome) {
    if (!outcome.ok) return report.row('PostgreSQL table load', failed(outcome));
    const table = outcome.result;
    report.row(
      'PostgreSQL table load (not callcard)',
      `${num(table.rows)} rows in ${table.loadSeconds} s (${num(table.rowsPerSecond)} rows/s, ` +
        `E.164 keys ${table.e164Seconds} s), index ${table.indexSeconds} s, ${table.tableMb} MB`,
    );
  },
  async cleanup(ctx) {
    const client = ctx.pgIfConnected();
    if (client && tableMayExist) {
      try {
        await pgBench.terminateBackends(client, 'callcard-bench-slow');
        await pgBench.dropTable(client);
        tableMayExist = false;
        log(`dropped PostgreSQL table ${pgBench.TABLE}`);
      } catch (error) {
        log(`could not drop ${pgBench.TABLE}: ${errorMessage(error)}`);
      }
    }
    if (tableMayExist && pgBench.dropTableSync(ctx.options.pgUrl)) tableMayExist = false;
    rmSync(ctx.paths.dataLive, { recursive: true, force: true });
    rmSync(ctx.paths.dataMirror, { recursive: true, force: true });
  },
});
