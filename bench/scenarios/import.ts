// import: the generated CSV into a fresh data dir with the CLI (`import --replace`): wall time, rows/s,
// peak RSS, index size.

import { cliEnv, contactsDbMb, freshDir, runCli } from '../support/callcard.js';
import { log } from '../support/children.js';
import { TARGETS } from '../support/context.js';
import { num } from '../support/numbers.js';
import { failed } from '../support/report.js';
import { defineScenario } from './types.js';

export interface ImportResult {
  readonly cliLine: string;
  readonly rows: number | null;
  readonly imported: number | null;
  readonly skippedSample: string[];
  readonly wallSeconds: number;
  /** CPU seconds of the import command, user + system, all threads. */
  readonly cpuSeconds: number | null;
  readonly rowsPerSecond: number;
  readonly cliRowsPerSecond: number | null;
  readonly peakRssMb: number | null;
  readonly peakRssFrom: string;
  readonly cliPeakRssMb: number | null;
  readonly dbMb: number;
}

export default defineScenario<ImportResult>({
  name: 'import',
  description: 'import the CSV with `callcard import --replace`: rows/s, peak RSS',
  byDefault: true,
  needs: ['contacts'],
  async run(ctx) {
    const { data, csv } = ctx.paths;
    freshDir(data);
    log('importing (callcard import --replace, fresh data dir)');
    const run = await runCli(ctx, 'import', ['import', csv, '--replace'], cliEnv(data), 15 * 60_000);
    if (run.code !== 0)
      throw new Error(`import failed (${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    log(line);
    const cliPeak = /peak RSS (\d+) MB/.exec(line);
    const cliRate = /(\d+) rows\/s/.exec(line);
    const imported = /imported (\d+) of (\d+)/.exec(line);
    return {
      cliLine: line,
      rows: imported ? Number(imported[2]) : null,
      imported: imported ? Number(imported[1]) : null,
      skippedSample: run.stderr
        .split('\n')
        .filter((l) => l.includes('skipped'))
        .slice(0, 5),
      wallSeconds: Math.round(run.wallSeconds * 100) / 100,
      cpuSeconds: run.cpuSeconds,
      rowsPerSecond: Math.round(ctx.options.contacts / run.wallSeconds),
      cliRowsPerSecond: cliRate ? Number(cliRate[1]) : null,
      peakRssMb: run.peakRssMb ?? (cliPeak ? Number(cliPeak[1]) : null),
      peakRssFrom: run.peakRssMb !== null ? (run.peakRssFrom ?? '') : 'CLI output',
      cliPeakRssMb: cliPeak ? Number(cliPeak[1]) : null,
      dbMb: contactsDbMb(data),
    };
  },
  rows(report, outcome) {
    if (!outcome.ok) return report.row('import', failed(outcome));
    const r = outcome.result;
    report.row(
      'import wall time',
      `${r.wallSeconds} s (CLI: ${num(r.cliRowsPerSecond)} rows/s), CPU ${r.cpuSeconds ?? 'n/a'} s user+sys`,
    );
    report.row(
      'import rate (wall, incl. start-up)',
      `${num(r.rowsPerSecond)} rows/s`,
      `>= ${num(TARGETS.importRowsPerSecond)}`,
      r.rowsPerSecond >= TARGETS.importRowsPerSecond,
    );
    report.row('import peak RSS', `${r.peakRssMb} MB (${r.peakRssFrom})`);
    report.row('contacts.db size', `${r.dbMb} MB`);
  },
  footer: (r) => [`import CLI said: ${r.cliLine}`],
  pass: (r) => ({ importRate: r.rowsPerSecond >= TARGETS.importRowsPerSecond }),
});
