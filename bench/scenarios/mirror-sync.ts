// mirror-sync: `callcard sync <name> --full` of the whole PostgreSQL table into a fresh index:
// rows/s, peak RSS; then a main and a mobile number looked up in the mirror.
import { cliEnv, contactsDbMb, freshDir, runCli, writeConfig } from '../support/callcard.js';
import { log } from '../support/children.js';
import { num, round } from '../support/numbers.js';
import * as pgBench from '../support/pg.js';
import { failed } from '../support/report.js';
import { knownNumbers } from './contacts.js';
import { TABLE_MAPPING } from './live-sql.js';
import { defineScenario } from './types.js';

export interface MirrorSyncResult {
  readonly source: string;
  readonly cliLine: string;
  readonly read: number | null;
  readonly written: number | null;
  readonly skipped: number | null;
  readonly cliSeconds: number | null;
  readonly cliRowsPerSecond: number | null;
  readonly wallSeconds: number;
  /** CPU seconds of the sync command, user + system, all threads. */
  readonly cpuSeconds: number | null;
  readonly rowsPerSecond: number | null;
  readonly peakRssMb: number | null;
  readonly peakRssFrom: string | null;
  readonly dbMb: number;
  readonly lookupChecks: { number: string; by: string; ok: boolean }[];
}

export default defineScenario<MirrorSyncResult>({
  name: 'mirror-sync',
  description: 'a full mirror sync of the PostgreSQL table: rows/s, peak RSS',
  byDefault: true,
  group: 'sources',
  needs: ['pg-table'],
  async run(ctx) {
    const dir = ctx.paths.dataMirror;
    freshDir(dir);
    const name = 'crm-mirror';
    const config = await writeConfig(ctx, 'mirror-sql', {
      sources: [
        {
          type: 'sql',
          name,
          driver: 'postgres',
          mode: 'mirror',
          url: pgBench.pgUrl(ctx.options.pgUrl, 'callcard-bench-mirror'),
          table: TABLE_MAPPING,
        },
      ],
    });
    log(`callcard sync ${name} --full (PostgreSQL table into a fresh index)`);
    const run = await runCli(
      ctx,
      'sync',
      ['sync', name, '--full', '--config', config],
      cliEnv(dir),
      20 * 60_000,
    );
    if (run.code !== 0)
      throw new Error(`sync failed (${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    const m = /(\d+) read, (\d+) written, (\d+) removed, (\d+) skipped, ([\d.]+) s \((\d+) rows\/s\)/.exec(
      line,
    );
    // The mirror answers like the embedded store: a main number and a mobile number.
    const { hits } = knownNumbers(ctx);
    const checks: MirrorSyncResult['lookupChecks'] = [];
    for (const hit of [hits.find((h) => h.by === 'phone'), hits.find((h) => h.by === 'mobile')]) {
      if (!hit) continue;
      const lookup = await runCli(
        ctx,
        'lookup',
        ['lookup', hit.number, '--config', config],
        cliEnv(dir),
        60_000,
      );
      let ok = false;
      try {
        const answer = JSON.parse(lookup.stdout) as { id?: unknown; name?: unknown }[];
        ok = answer[0]?.id === hit.id && answer[0]?.name === hit.name;
      } catch {
        ok = false;
      }
      checks.push({ number: hit.number, by: hit.by, ok });
    }
    return {
      source: `${name} (sql, driver postgres, table ${pgBench.TABLE}, mode mirror)`,
      cliLine: line,
      read: m ? Number(m[1]) : null,
      written: m ? Number(m[2]) : null,
      skipped: m ? Number(m[4]) : null,
      cliSeconds: m ? Number(m[5]) : null,
      cliRowsPerSecond: m ? Number(m[6]) : null,
      wallSeconds: round(run.wallSeconds),
      cpuSeconds: run.cpuSeconds,
      rowsPerSecond: m ? Math.round(Number(m[1]) / run.wallSeconds) : null,
      peakRssMb: run.peakRssMb,
      peakRssFrom: run.peakRssFrom,
      dbMb: contactsDbMb(dir),
      lookupChecks: checks,
    };
  },
  notes: (mirror) => [`mirror sync CLI said: ${mirror.cliLine}`],
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('mirror sync', failed(outcome));
    const mirror = outcome.result;
    report.row(
      'mirror sync --full (PostgreSQL -> index)',
      `${num(mirror.rowsPerSecond)} rows/s wall (${mirror.wallSeconds} s, CPU ${mirror.cpuSeconds ?? 'n/a'} s ` +
        `user+sys); CLI: ${num(mirror.cliRowsPerSecond)} rows/s`,
    );
    report.row(
      'mirror sync rows, lookups after',
      `${num(mirror.read)} read, ${num(mirror.written)} written, ${mirror.skipped} skipped; ` +
        mirror.lookupChecks.map((check) => `${check.by} ${check.ok ? 'ok' : 'WRONG'}`).join(', '),
      'all written',
      mirror.written === ctx.options.contacts && mirror.lookupChecks.every((check) => check.ok),
    );
    report.row(
      'mirror sync peak RSS',
      `${mirror.peakRssMb} MB (${mirror.peakRssFrom ?? 'n/a'}), index ${mirror.dbMb} MB`,
    );
  },
  pass: (mirror, ctx) => ({
    mirrorSyncComplete:
      mirror.written === ctx.options.contacts && mirror.lookupChecks.every((check) => check.ok),
  }),
});
